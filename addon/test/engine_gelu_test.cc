// The int8 epilogue's GELU (kernels::gelu, the vectorizable erf of kernels/epilogue_impl.h)
// against 0.5 x (1 + erf(x / sqrt(2))) in double with std::erf, over a dense sweep of
// [-12, 12] and a bit-pattern sweep of the whole float range, plus inf/NaN.
// Bound: the documented erf error (<= 5e-7 absolute) scaled by 0.5|x|, plus the float
// roundings of x / sqrt(2) (moves erf by <= 1.2e-7 |z| erf'(z) <= 5e-8), 1 + erf, 0.5 x and the
// product (<= 3 ulp of the result).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "engine_harness.h"
#include "kernels/kernels.h"

using namespace vigil;

namespace {
double gelu_ref(float x) {
  const double xd = x;
  return 0.5 * xd * (1.0 + std::erf(xd / std::sqrt(2.0)));
}
double bound(float x, double ref) {
  return 0.5 * std::fabs(static_cast<double>(x)) * (5e-7 + 5e-8) + 3.0 * 6e-8 * std::fabs(ref) + 1e-45;
}
}  // namespace

TEST(gelu_dense_sweep_within_erf_bound) {
  double worst_erf = 0.0;  // the erf error implied by the result, for |x| >= 0.5
  for (int64_t i = -12000000; i <= 12000000; ++i) {
    const float x = static_cast<float>(i) * 1e-6f;
    const double ref = gelu_ref(x);
    const double got = kernels::gelu(x);
    const double err = std::fabs(got - ref);
    if (!(err <= bound(x, ref))) {
      EXPECT(false) << "x=" << x << " got " << got << " ref " << ref << " err " << err;
      return;
    }
    if (std::fabs(x) >= 0.5f) {
      const double e = err / (0.5 * std::fabs(static_cast<double>(x)));
      if (e > worst_erf) worst_erf = e;
    }
  }
  // 1 + erf loses the low bits for small |1 + erf|, so this is a loose check of the erf bound.
  EXPECT(worst_erf < 7e-7) << "worst implied erf error " << worst_erf;
}

TEST(gelu_whole_float_range) {
  // Every 4099th bit pattern of both signs (finite values only): covers all exponents.
  for (uint64_t b = 0; b < 0x7f800000u; b += 4099) {
    for (const uint32_t sign : {0u, 0x80000000u}) {
      const uint32_t bits = static_cast<uint32_t>(b) | sign;
      float x;
      std::memcpy(&x, &bits, sizeof x);
      const double ref = gelu_ref(x);
      const double got = kernels::gelu(x);
      if (!(std::fabs(got - ref) <= bound(x, ref))) {
        EXPECT(false) << "x=" << x << " got " << got << " ref " << ref;
        return;
      }
    }
  }
}

TEST(gelu_special_values) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT(kernels::gelu(inf) == inf) << kernels::gelu(inf);
  EXPECT(std::isnan(kernels::gelu(std::numeric_limits<float>::quiet_NaN())));
  EXPECT(kernels::gelu(0.0f) == 0.0f);
  EXPECT(kernels::gelu(-100.0f) == 0.0f || std::fabs(kernels::gelu(-100.0f)) < 1e-30f);
  EXPECT(kernels::gelu(100.0f) == 100.0f) << kernels::gelu(100.0f);
}

int main() { return vigil::test::run_all_tests(); }
