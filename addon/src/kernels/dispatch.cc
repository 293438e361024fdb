// CPU feature detection and kernel selection (see dispatch.h).
#include "kernels/dispatch.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define VIGIL_ARCH_X86 1
#include <cpuid.h>
#elif defined(__aarch64__)
#define VIGIL_ARCH_AARCH64 1
#elif defined(__arm__)
#define VIGIL_ARCH_ARM32 1
#endif

#if (defined(VIGIL_ARCH_AARCH64) || defined(VIGIL_ARCH_ARM32)) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace vigil::kernels {

// Tables of ISAs that kernels.cmake did not compile in report themselves absent.
#ifndef VIGIL_KERNELS_HAVE_NEON
const KernelTable* table_neon() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_NEON_DOT
const KernelTable* table_neon_dot() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_SSE41
const KernelTable* table_sse41() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_AVX2
const KernelTable* table_avx2() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_AVX512_VNNI
const KernelTable* table_avx512_vnni() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_AVX_VNNI
const KernelTable* table_avx_vnni_vex() { return nullptr; }
#endif
#ifndef VIGIL_KERNELS_HAVE_AVX_VNNI_EVEX
const KernelTable* table_avx_vnni_evex() { return nullptr; }
#endif

namespace {

#if defined(VIGIL_ARCH_X86)
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(VIGIL_ARCH_X86)
  f.arch = "x86_64";
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return f;
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.sse41 = (c >> 19) & 1;
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    // XMM (bit 1) and YMM (bit 2) state saved by the OS.
    f.os_avx = avx && (xcr0 & 0x6) == 0x6;
    // plus opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7).
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;
  }
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512_vnni = (c >> 11) & 1;
    f.avx512_vbmi = (c >> 1) & 1;
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = (a >> 4) & 1;
  }
#elif defined(VIGIL_ARCH_AARCH64)
  f.arch = "aarch64";
  f.neon = true;  // Advanced SIMD is mandatory in armv8-a Linux ABI
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long kHwcapAsimd = 1UL << 1;
  const unsigned long kHwcapAsimddp = 1UL << 20;
  f.neon = (hw & kHwcapAsimd) != 0;
  f.asimddp = (hw & kHwcapAsimddp) != 0;
#endif
#elif defined(VIGIL_ARCH_ARM32)
  f.arch = "arm";
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long kHwcapNeon = 1UL << 12;
  f.neon = (hw & kHwcapNeon) != 0;
#endif
#else
  f.arch = "unknown";
#endif
  return f;
}

const char* const kKnown[] = {"avx512_vnni", "avx_vnni", "avx2", "sse41", "neon_dot", "neon", "scalar"};

const KernelTable* table_by_name(const char* name, bool* known) {
  *known = true;
  if (std::strcmp(name, "scalar") == 0) return table_scalar();
  if (std::strcmp(name, "neon") == 0) return table_neon();
  if (std::strcmp(name, "neon_dot") == 0) return table_neon_dot();
  if (std::strcmp(name, "avx2") == 0) return table_avx2();
  if (std::strcmp(name, "sse41") == 0) return table_sse41();
  if (std::strcmp(name, "avx512_vnni") == 0) return table_avx512_vnni();
  if (std::strcmp(name, "avx_vnni") == 0) return table_avx_vnni();
  *known = false;
  return nullptr;
}

// The avx_vnni table's builds that run on this CPU: VEX with AVX-VNNI, EVEX with AVX-512 VNNI + VL.
bool avx_vnni_vex_runs(const CpuFeatures& f) {
  return table_avx_vnni_vex() != nullptr && f.avx_vnni && f.avx2 && f.os_avx;
}
bool avx_vnni_evex_runs(const CpuFeatures& f) {
  return table_avx_vnni_evex() != nullptr && f.avx2 && f.avx512_vnni && f.avx512vl && f.os_avx512;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const KernelTable* table_avx_vnni() {
  const CpuFeatures& f = cpu_features();
  if (avx_vnni_vex_runs(f)) return table_avx_vnni_vex();
  if (avx_vnni_evex_runs(f)) return table_avx_vnni_evex();
  return table_avx_vnni_vex() != nullptr ? table_avx_vnni_vex() : table_avx_vnni_evex();
}

bool cpu_supports(Isa isa, std::string* missing) {
  const CpuFeatures& f = cpu_features();
  auto need = [&](bool ok, const char* what) {
    if (!ok && missing != nullptr) *missing = what;
    return ok;
  };
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kNeon:
      return need(f.neon, "neon");
    case Isa::kNeonDot:
      return need(f.neon, "neon") && need(f.asimddp, "asimddp");
    case Isa::kSse41:
      return need(f.sse41, "sse4_1");
    case Isa::kAvx2:
      return need(f.avx2, "avx2") && need(f.os_avx, "OS support for AVX state (XGETBV)");
    case Isa::kAvx512Vnni:
      return need(f.avx512f, "avx512f") && need(f.avx512bw, "avx512bw") &&
             need(f.avx512vl, "avx512vl") && need(f.avx512_vnni, "avx512_vnni") &&
             need(f.os_avx512, "OS support for AVX-512 state (XGETBV)");
    case Isa::kAvxVnni:
      return need(avx_vnni_vex_runs(f) || avx_vnni_evex_runs(f),
                  "avx_vnni (or avx512_vnni + avx512vl for its EVEX-encoded build)");
  }
  if (missing != nullptr) *missing = "unknown ISA";
  return false;
}

std::vector<const KernelTable*> compiled_kernels() {
  std::vector<const KernelTable*> out;
  for (const char* name : kKnown) {
    bool known = false;
    const KernelTable* t = table_by_name(name, &known);
    if (t != nullptr) out.push_back(t);
  }
  return out;
}

std::vector<const KernelTable*> available_kernels() {
  std::vector<const KernelTable*> out;
  for (const KernelTable* t : compiled_kernels()) {
    if (cpu_supports(t->isa, nullptr)) out.push_back(t);
  }
  return out;
}

const KernelTable* select_kernels(const char* name, std::string* error) {
  if (name == nullptr || name[0] == '\0') {
    std::vector<const KernelTable*> avail = available_kernels();
    return avail.empty() ? table_scalar() : avail.front();
  }
  bool known = false;
  const KernelTable* t = table_by_name(name, &known);
  if (!known) {
    if (error != nullptr) {
      std::string names;  // kKnown, the one list of ISA names
      for (const char* k : kKnown) names += (names.empty() ? "" : ", ") + std::string(k);
      *error = std::string("unknown kernel ISA '") + name + "' (known: " + names + ")";
    }
    return nullptr;
  }
  if (t == nullptr) {
    if (error != nullptr) *error = std::string("kernel ISA '") + name + "' is not compiled into this binary";
    return nullptr;
  }
  std::string missing;
  if (!cpu_supports(t->isa, &missing)) {
    if (error != nullptr) {
      *error = std::string("kernel ISA '") + name + "' is not supported by this CPU: needs " + missing;
    }
    return nullptr;
  }
  return t;
}

std::string describe_cpu_features() {
  const CpuFeatures& f = cpu_features();
  std::string s = f.arch;
  auto add = [&](bool on, const char* what) {
    if (on) {
      s += ' ';
      s += what;
    }
  };
  add(f.sse41, "sse4_1");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx512_vbmi, "avx512_vbmi");
  add(f.avx_vnni, "avx_vnni");
  add(f.os_avx, "os_avx");
  add(f.os_avx512, "os_avx512");
  add(f.neon, "neon");
  add(f.asimddp, "asimddp");
  return s;
}

}  // namespace vigil::kernels
