// The EVEX-encoded build of gemm_s8s8_s32_4x16c4__avx_vnni.cc (see there): the same source with
// the AVX-512 VL forms of vpdpbusd ymm, for CPUs with AVX-512 VNNI and no AVX-VNNI.
#define VIGIL_AVX_VNNI_EVEX 1
#include "gemm_s8s8_s32_4x16c4__avx_vnni.cc"
