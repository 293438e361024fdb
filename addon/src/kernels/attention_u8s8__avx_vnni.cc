// The avx_vnni table's fused int8 attention (attention_ymm.h), VEX-encoded (-mavx2 -mavxvnni);
// attention_u8s8__avx_vnni_evex.cc is the EVEX build (gemm_s8s8_s32_4x16c4__avx_vnni.cc's
// header comment).
#include <immintrin.h>

#include "kernels/avx_vnni_encoding.h"

#if defined(VIGIL_AVX_VNNI_EVEX)
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni_evex
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni_evex
#else
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni
#endif
#define VIGIL_YMM_VNNI 1

#include "kernels/attention_ymm.h"
