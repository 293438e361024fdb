// The avx_vnni table's fused int8 attention (attention_ymm.h), VEX-encoded (-mavx2 -mavxvnni);
// attention_u8s8__avx_vnni_evex.cc is the EVEX build (gemm_s8s8_s32_4x16c4__avx_vnni.cc's
// header comment).
#include <immintrin.h>

#if defined(VIGIL_AVX_VNNI_EVEX)
#if !defined(__AVX2__) || !defined(__AVX512VNNI__) || !defined(__AVX512VL__)
#error "the EVEX build of this file needs -mavx2 -mavx512vnni -mavx512vl (kernels.cmake)"
#endif
#define VIGIL_DPBUSD_YMM _mm256_dpbusd_epi32
#define VIGIL_DPWSSD_YMM _mm256_dpwssd_epi32
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni_evex
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni_evex
#else
#if !defined(__AVX2__) || !defined(__AVXVNNI__)
#error "this file must be compiled with -mavx2 -mavxvnni (kernels.cmake)"
#endif
#define VIGIL_DPBUSD_YMM _mm256_dpbusd_avx_epi32
#define VIGIL_DPWSSD_YMM _mm256_dpwssd_avx_epi32
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni
#endif
#define VIGIL_YMM_VNNI 1

#include "kernels/attention_ymm.h"
