// The avx2 table's fused int8 attention (attention_ymm.h) without VNNI: int16 pairs by vpmaddwd
// for the scores and for P V (u as int16, V widened).
#include <immintrin.h>

#if !defined(__AVX2__)
#error "this file must be compiled with -mavx2 (kernels.cmake)"
#endif
#define VIGIL_ATTENTION_FN attention_s16__avx2
#define VIGIL_ATTENTION_SCRATCH_FN attention_s16_scratch__avx2

#include "kernels/attention_ymm.h"
