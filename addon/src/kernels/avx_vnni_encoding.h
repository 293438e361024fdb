// The two encodings of the avx_vnni table's instructions (gemm_s8s8_s32_4x16c4__avx_vnni.cc's
// header comment): VIGIL_DPBUSD_YMM / VIGIL_DPWSSD_YMM are the VEX forms (-mavxvnni) or, with
// VIGIL_AVX_VNNI_EVEX defined, the AVX-512 VL forms (-mavx512vnni -mavx512vl). Included only by
// the avx_vnni files.
#pragma once

#include <immintrin.h>

#if defined(VIGIL_AVX_VNNI_EVEX)
#if !defined(__AVX2__) || !defined(__AVX512VNNI__) || !defined(__AVX512VL__)
#error "the EVEX build of the avx_vnni files needs -mavx2 -mavx512vnni -mavx512vl (kernels.cmake)"
#endif
#define VIGIL_DPBUSD_YMM _mm256_dpbusd_epi32
#define VIGIL_DPWSSD_YMM _mm256_dpwssd_epi32
#else
#if !defined(__AVX2__) || !defined(__AVXVNNI__)
#error "the avx_vnni files must be compiled with -mavx2 -mavxvnni (kernels.cmake)"
#endif
#define VIGIL_DPBUSD_YMM _mm256_dpbusd_avx_epi32
#define VIGIL_DPWSSD_YMM _mm256_dpwssd_avx_epi32
#endif
