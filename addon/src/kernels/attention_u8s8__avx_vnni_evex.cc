// The EVEX-encoded build of attention_u8s8__avx_vnni.cc (see there and
// gemm_s8s8_s32_4x16c4__avx_vnni.cc): the same source with the AVX-512 VL forms of vpdpbusd and
// vpdpwssd ymm.
#define VIGIL_AVX_VNNI_EVEX 1
#include "attention_u8s8__avx_vnni.cc"
