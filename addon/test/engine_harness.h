// A minimal test harness for the engine's ctest executables (no framework download):
//   TEST(name) { EXPECT(cond) << "context"; }   and   int main() { return run_all_tests(); }
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::test {

struct TestCase {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> r;
  return r;
}
inline int& failures() {
  static int f = 0;
  return f;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Collects the streamed context and reports on destruction when the check failed.
class Check {
 public:
  Check(bool ok, const char* expr, const char* file, int line)
      : ok_(ok), expr_(expr), file_(file), line_(line) {}
  ~Check() {
    if (!ok_) {
      ++failures();
      std::fprintf(stderr, "%s:%d: FAILED: %s %s\n", file_, line_, expr_, ss_.str().c_str());
    }
  }
  template <typename T>
  Check& operator<<(const T& v) {
    if (!ok_) ss_ << v;
    return *this;
  }
  explicit operator bool() const { return ok_; }

 private:
  bool ok_;
  const char* expr_;
  const char* file_;
  int line_;
  std::ostringstream ss_;
};

inline int run_all_tests() {
  int failed_tests = 0;
  for (const TestCase& t : registry()) {
    const int before = failures();
    t.fn();
    const bool ok = failures() == before;
    if (!ok) ++failed_tests;
    std::printf("[%s] %s\n", ok ? "PASS" : "FAIL", t.name);
  }
  std::printf("%zu passed, %d failed\n", registry().size() - failed_tests, failed_tests);
  return failed_tests == 0 ? 0 : 1;
}

}  // namespace vigil::test

#define VIGIL_CAT2(a, b) a##b
#define VIGIL_CAT(a, b) VIGIL_CAT2(a, b)
#define TEST(name)                                                              \
  static void name();                                                           \
  static ::vigil::test::Registrar VIGIL_CAT(reg_, name)(#name, &name);          \
  static void name()
#define EXPECT(cond) ::vigil::test::Check((cond), #cond, __FILE__, __LINE__)
#define EXPECT_NEAR(a, b, tol)                                                  \
  ::vigil::test::Check(std::fabs(static_cast<double>(a) - static_cast<double>(b)) <= (tol), \
                       #a " ~= " #b, __FILE__, __LINE__)                        \
      << "(" << (a) << " vs " << (b) << ", tol " << (tol) << ") "
