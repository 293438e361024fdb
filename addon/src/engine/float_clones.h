// Float and double loops of the engine (ops.cc, fft.cc) are compiled for several x86 levels and
// picked at load time by the dynamic linker (GCC target_clones -> ifunc, which checks CPUID and
// OS support). The baseline build must run on any x86-64 (no -march), but SSE2-only loops leave
// 2-4x on the table on the machines we ship to. Results are bit-identical across clones: no
// loop reassociates a sum by vector width and -ffp-contract=off forbids FMA contraction. Other
// architectures (NEON is the aarch64 baseline) and clang/sanitizer builds use the single
// default version.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VIGIL_FLOAT_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
// Code whose best form for 512-bit registers (16-lane vector-extension blocks) is lowered badly
// at narrower widths has a second, portable form; x86_64_v4() (libgcc's CPUID + XGETBV check,
// the same one the target_clones resolvers make) picks between them at run time: a separate
// x86-64-v4 function (ops.cc attention_zmm) or a test inside the clones (ops.cc zmm_forms).
#define VIGIL_X86_64_V4 1
#define VIGIL_TARGET_X86_64_V4 __attribute__((target("arch=x86-64-v4")))
inline bool x86_64_v4() {
  static const bool yes = __builtin_cpu_supports("x86-64-v4");
  return yes;
}
#else
#define VIGIL_FLOAT_CLONES
#define VIGIL_X86_64_V4 0
inline bool x86_64_v4() { return false; }
#endif

#if defined(__GNUC__)
#define VIGIL_ALWAYS_INLINE __attribute__((always_inline))
#else
#define VIGIL_ALWAYS_INLINE
#endif
