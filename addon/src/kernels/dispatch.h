// Runtime CPU feature detection and kernel selection.
//
// x86: CPUID leaves 1/7 plus XGETBV (the OS must save YMM state for AVX2 and ZMM/opmask state
// for AVX-512). ARM: getauxval(AT_HWCAP) (HWCAP_ASIMDDP on aarch64, HWCAP_NEON on armv7).
// A kernel is "available" when it is compiled into this binary AND the CPU/OS can run it.
#pragma once

#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace vigil::kernels {

struct CpuFeatures {
  std::string arch;  // "x86_64", "aarch64", "arm", or "unknown"
  bool sse41 = false, avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512vl = false,
       avx512_vnni = false, avx512_vbmi = false, avx_vnni = false, os_avx = false, os_avx512 = false, neon = false,
       asimddp = false;
};

// Detected once (thread-safe static), then cached.
const CpuFeatures& cpu_features();

// Every table compiled into this binary, best first.
std::vector<const KernelTable*> compiled_kernels();

// Compiled AND runnable on this CPU, best first. Never empty: scalar is always available.
std::vector<const KernelTable*> available_kernels();

// name nullptr or "" -> the best available table. Otherwise exactly that ISA name
// ("scalar", "neon", "neon_dot", "sse41", "avx2", "avx512_vnni", "avx_vnni"), or nullptr with *error saying why:
// "unknown kernel ISA 'x' (known: ...)", "kernel ISA 'x' is not compiled into this binary",
// "kernel ISA 'x' is not supported by this CPU: needs avx512_vnni".
const KernelTable* select_kernels(const char* name, std::string* error);

// Whether `isa` can run on this CPU (ignores whether it is compiled in). On failure *missing
// names the first missing feature.
bool cpu_supports(Isa isa, std::string* missing);

// Human-readable list of the detected features, e.g. "x86_64 avx2 fma avx512f ...".
std::string describe_cpu_features();

}  // namespace vigil::kernels
