// Writes tiny vigil-tst GGUF files (fp32, q8, spectral q8) into a directory: the fuzzer's seed
// corpus (scripts/fuzz-engine.sh) and a quick way to get a model for manual runs.
//   engine_make_fixtures <dir>
#include <cstdio>
#include <string>

#include "engine_test_model.h"

namespace {
bool write(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  return std::fclose(f) == 0 && ok;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: engine_make_fixtures <dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  vigil::test::TinySpec s;
  s.window = 16; s.channels = 2; s.patch = 4; s.d = 8; s.heads = 2; s.ff = 16; s.blocks = 1;
  vigil::test::RefModel m = vigil::test::random_model(s);
  bool ok = write(dir + "/tiny-f32.gguf", vigil::test::write_gguf(m));
  vigil::test::quantize_encoder(&m, {});
  ok = ok && write(dir + "/tiny-q8.gguf", vigil::test::write_gguf(m));
  vigil::test::TinySpec sp;
  sp.spectral = true; sp.window = 64; sp.channels = 1; sp.sample_rate = 64.0f; sp.bins = 8;
  sp.band_low = 4.0f; sp.band_high = 20.0f; sp.patch = 2; sp.d = 8; sp.heads = 2; sp.ff = 16;
  sp.blocks = 1;
  vigil::test::RefModel ms = vigil::test::random_model(sp);
  vigil::test::quantize_encoder(&ms, {});
  ok = ok && write(dir + "/tiny-spectral-q8.gguf", vigil::test::write_gguf(ms));
  if (!ok) {
    std::fprintf(stderr, "engine_make_fixtures: cannot write into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
