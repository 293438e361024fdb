// The GGUF loader against truncated, bit-flipped, oversized-count, hostile-offset and
// semantically wrong files: each must return an error status (never crash, never read out of
// bounds: run this under VIGIL_SANITIZE=ON to make "never" checkable).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine_harness.h"
#include "engine_test_model.h"
#include "vigil/engine.h"

using namespace vigil;
using Bytes = std::vector<uint8_t>;

namespace {

test::TinySpec tiny() {
  test::TinySpec s;
  s.window = 16;
  s.channels = 2;
  s.patch = 4;
  s.d = 8;
  s.heads = 2;
  s.ff = 16;
  s.blocks = 1;
  s.classes = 3;
  return s;
}

Bytes tiny_file(bool int8 = false) {
  test::RefModel m = test::random_model(tiny());
  if (int8) test::quantize_encoder(&m, {});
  return test::write_gguf(m);
}

Status load(const Bytes& b, std::unique_ptr<Model>* out = nullptr) {
  std::unique_ptr<Model> m;
  LoadOptions o;
  o.isa = "scalar";
  Status s = Model::load_buffer(b.data(), b.size(), o, &m);
  if (out) *out = std::move(m);
  return s;
}

bool shaped(const Status& s) { return s.message().rfind("failed to ", 0) == 0 && s.message().find(" with ") != std::string::npos; }

// Position just after the "<u64 len><name>" string in the file (a tensor info or a key).
size_t after_string(const Bytes& b, const std::string& name) {
  Bytes pat(8 + name.size());
  const uint64_t len = name.size();
  std::memcpy(pat.data(), &len, 8);
  std::memcpy(pat.data() + 8, name.data(), name.size());
  auto it = std::search(b.begin(), b.end(), pat.begin(), pat.end());
  if (it == b.end()) return 0;
  return static_cast<size_t>(it - b.begin()) + pat.size();
}

template <typename T>
void poke(Bytes& b, size_t pos, T v) { std::memcpy(b.data() + pos, &v, sizeof v); }
template <typename T>
T peek(const Bytes& b, size_t pos) { T v; std::memcpy(&v, b.data() + pos, sizeof v); return v; }

// Offsets inside a tensor info: after the name come u32 n_dims, u64 ne[n_dims], u32 type, u64 offset.
size_t tensor_ndims_pos(const Bytes& b, const std::string& name) { return after_string(b, name); }
size_t tensor_type_pos(const Bytes& b, const std::string& name) {
  const size_t p = after_string(b, name);
  return p + 4 + 8 * peek<uint32_t>(b, p);
}
size_t tensor_offset_pos(const Bytes& b, const std::string& name) { return tensor_type_pos(b, name) + 4; }

void expect_format_error(const Bytes& b, const std::string& needle, const char* what) {
  Status s = load(b);
  EXPECT(!s.ok()) << what << ": loaded";
  EXPECT(s.code() == StatusCode::kModelFormat) << what << ": code " << code_name(s.code()) << " " << s.message();
  EXPECT(shaped(s)) << what << ": message shape: " << s.message();
  EXPECT(s.message().find(needle) != std::string::npos) << what << ": '" << needle << "' not in: " << s.message();
}

}  // namespace

TEST(valid_file_loads_and_reports_hyperparameters) {
  for (bool int8 : {false, true}) {
    std::unique_ptr<Model> m;
    Status s = load(tiny_file(int8), &m);
    EXPECT(s.ok()) << s.message();
    if (!s.ok()) continue;
    const ModelInfo& i = m->info();
    EXPECT(i.architecture == "vigil-tst");
    EXPECT(i.hp.window_length == 16 && i.hp.channel_count == 2 && i.hp.tokens == 4);
    EXPECT(i.hp.embedding_length == 8 && i.hp.class_count == 3 && i.labels.size() == 3);
    EXPECT(i.quantization == (int8 ? "q8_static" : "f32"));
    EXPECT(i.int8_linears == (int8 ? 5u : 0u)) << i.int8_linears;
    EXPECT(i.isa == "scalar");
    EXPECT(i.memory_bytes > 0);
  }
}

TEST(every_truncated_prefix_is_rejected) {
  const Bytes full = tiny_file(true);
  size_t first_ok = full.size();
  for (size_t len = 0; len < full.size(); ++len) {
    Bytes b(full.begin(), full.begin() + len);
    Status s = load(b);
    if (s.ok()) {
      if (first_ok == full.size()) first_ok = len;
      continue;
    }
    EXPECT(s.code() == StatusCode::kModelFormat) << "prefix " << len << ": " << s.message();
    if (first_ok != full.size()) EXPECT(false) << "prefix " << len << " failed after a shorter one loaded";
  }
  // Only the trailing alignment padding after the last tensor may be cut.
  EXPECT(full.size() - first_ok < 32) << "a prefix of " << first_ok << "/" << full.size() << " bytes loaded";
}

TEST(every_header_bit_flip_is_answered) {
  const Bytes full = tiny_file(true);
  const size_t header = tensor_offset_pos(full, "cls.bias") + 8;  // kv + tensor infos (most of them)
  size_t rejected = 0, loaded = 0;

  for (size_t pos = 0; pos < header; ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = full;
      b[pos] ^= static_cast<uint8_t>(1u << bit);
      std::unique_ptr<Model> m;
      Status s = load(b, &m);
      if (s.ok()) {
        ++loaded;
        // Whatever loaded must also run within its own declared shapes.
        std::vector<float> xi(m->input_length(), 0.5f);
        std::vector<float> p2(m->info().hp.class_count), e2(m->info().hp.embedding_length),
            pe2(m->info().hp.tokens), ce2(m->info().hp.feature_channels);
        EXPECT(m->run(xi.data(), xi.size(), {p2.data(), e2.data(), pe2.data(), ce2.data()}).ok());
      } else {
        ++rejected;
        EXPECT(shaped(s)) << "pos " << pos << " bit " << bit << ": " << s.message();
      }
    }
  }
  std::printf("  header bit flips: %zu rejected, %zu loaded (e.g. a changed name character)\n", rejected, loaded);
  EXPECT(rejected > loaded);
}

TEST(random_data_bit_flips_never_crash) {
  const Bytes full = tiny_file(true);
  std::mt19937_64 g(42);
  const size_t start = tensor_offset_pos(full, "cls.bias") + 8;
  for (int j = 0; j < 3000; ++j) {
    Bytes b = full;
    for (int f = 0; f < 3; ++f) b[start + g() % (b.size() - start)] ^= static_cast<uint8_t>(1u << (g() % 8));
    std::unique_ptr<Model> m;
    Status s = load(b, &m);
    if (s.ok()) {
      std::vector<float> xi(m->input_length(), 0.5f), p(3), e(8), pe(4), ce(2);
      EXPECT(m->run(xi.data(), xi.size(), {p.data(), e.data(), pe.data(), ce.data()}).ok());
    } else {
      EXPECT(shaped(s)) << s.message();
    }
  }
}

TEST(bad_magic_and_version) {
  Bytes b = tiny_file();
  b[0] = 'X';
  expect_format_error(b, "magic", "magic");
  b = tiny_file();
  poke<uint32_t>(b, 4, 2);
  expect_format_error(b, "version 2", "version");
  expect_format_error(Bytes{}, "4-byte magic", "empty");
  std::unique_ptr<Model> m;
  Status s = Model::load_buffer(nullptr, 0, LoadOptions(), &m);
  EXPECT(!s.ok() && m == nullptr);
}

TEST(oversized_counts) {
  Bytes b = tiny_file();
  poke<uint64_t>(b, 8, uint64_t{1} << 40);
  expect_format_error(b, "tensor count", "tensor count 2^40");
  b = tiny_file();
  poke<uint64_t>(b, 16, 5000);
  expect_format_error(b, "metadata count", "kv count 5000");
  b = tiny_file();
  poke<uint64_t>(b, 8, peek<uint64_t>(b, 8) + 1);  // one more tensor than written
  EXPECT(!load(b).ok());
  b = tiny_file();
  poke<uint64_t>(b, 16, peek<uint64_t>(b, 16) + 1);  // one more key than written
  EXPECT(!load(b).ok());
  b = tiny_file();
  poke<uint64_t>(b, 24, uint64_t{1} << 62);  // first key's string length
  expect_format_error(b, "length", "string length 2^62");
  b = tiny_file();
  poke<uint64_t>(b, 24, b.size());  // within the cap, beyond the file
  expect_format_error(b, "remain", "string length = file size");
  // labels array count: after the key come u32 type (9), u32 element type (8), u64 count
  const size_t lab = after_string(b = tiny_file(), "vigil-tst.labels");
  EXPECT(lab != 0);
  poke<uint64_t>(b, lab + 8, uint64_t{1} << 40);
  expect_format_error(b, "array count", "array count 2^40");
  b = tiny_file();
  poke<uint64_t>(b, lab + 8, 1u << 19);
  expect_format_error(b, "remain", "array count 2^19");
  b = tiny_file();
  poke<uint32_t>(b, lab + 4, 9);  // nested array
  expect_format_error(b, "nested", "nested array");
  b = tiny_file();
  poke<uint32_t>(b, lab, 13);  // unknown value type
  expect_format_error(b, "value type 13", "value type 13");
}

TEST(hostile_tensor_infos) {
  Bytes b = tiny_file();
  poke<uint32_t>(b, tensor_ndims_pos(b, "cls.bias"), 5);
  expect_format_error(b, "dimensions", "5 dims");
  b = tiny_file();
  poke<uint64_t>(b, tensor_ndims_pos(b, "cls.bias") + 4, 0);
  expect_format_error(b, "ne[0]=0", "zero dim");
  b = tiny_file();
  poke<uint64_t>(b, tensor_ndims_pos(b, "cls.bias") + 4, uint64_t{1} << 40);
  expect_format_error(b, "ne[0]", "huge dim");
  b = tiny_file();
  poke<uint32_t>(b, tensor_type_pos(b, "cls.bias"), 1);  // F16
  expect_format_error(b, "type 1", "F16");
  b = tiny_file();
  poke<uint32_t>(b, tensor_type_pos(b, "cls.bias"), 24);  // I8 where F32 is required
  expect_format_error(b, "expected F32", "bias as I8");
  b = tiny_file();
  poke<uint64_t>(b, tensor_offset_pos(b, "cls.bias"), b.size() + 32 * 100);
  expect_format_error(b, "data section", "offset beyond the file");
  b = tiny_file();
  poke<uint64_t>(b, tensor_offset_pos(b, "cls.bias"), ~uint64_t{0} - 31);  // offset + size overflows
  expect_format_error(b, "data section", "offset overflow");
  b = tiny_file();
  poke<uint64_t>(b, tensor_offset_pos(b, "cls.bias"), peek<uint64_t>(b, tensor_offset_pos(b, "cls.bias")) + 4);
  expect_format_error(b, "alignment", "misaligned");
  b = tiny_file();
  poke<uint64_t>(b, tensor_offset_pos(b, "cls.bias"), peek<uint64_t>(b, tensor_offset_pos(b, "norm.mean")));
  expect_format_error(b, "overlaps", "overlapping");
  b = tiny_file();
  const size_t al = after_string(b, "general.alignment");
  poke<uint32_t>(b, al + 4, 3);
  expect_format_error(b, "power of two", "alignment 3");
  poke<uint32_t>(b, al + 4, 0);
  expect_format_error(b, "power of two", "alignment 0");
  b = tiny_file();
  const size_t nm = after_string(b, "norm.std");
  std::memcpy(b.data() + nm - 8, "pos_embd", 8);  // same length: a second "pos_embd"
  expect_format_error(b, "second occurrence", "duplicate tensor");
}

TEST(semantic_errors) {
  const test::TinySpec s = tiny();
  auto with = [&](auto edit) {
    test::RefModel m = test::random_model(s);
    test::GgufWriter w;
    edit(m, w);
    return test::write_gguf(m, w);
  };
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.string_override["general.architecture"] = "llama";
                      }), "vigil-tst only", "architecture");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.skip.insert("vigil-tst.embedding_length");
                      }), "required", "missing key");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.u32_override["vigil-tst.patch_length"] = 3;
                      }), "divide", "patch length");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.u32_override["vigil-tst.attention.head_count"] = 3;
                      }), "divide", "heads");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.u32_override["vigil-tst.embedding_length"] = 16;
                      }), "expected ne=", "width vs tensors");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.u32_override["vigil-tst.channel_count"] = 3;
                      }), "channel_names", "channel names count");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.u32_override["vigil-tst.block_count"] = 1000000;
                      }), "block_count", "block count cap");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) {
                        m.cls.out = 4;  // labels say K = 3
                        m.cls.w.resize(4 * m.cls.in, 0.1f);
                        m.cls.b.resize(4, 0.0f);
                      }), "cls", "labels count vs cls");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) { w.skip.insert("recon.bias"); }),
                      "recon.bias", "missing tensor");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) { m.std[1] = 0.0f; }), "> 0", "std 0");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) { m.pos[3] = std::nanf(""); }), "finite", "NaN pos");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) { m.blocks[0].qkv.w[5] = INFINITY; }),
                      "finite", "Inf weight");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) {
                        test::quantize_encoder(&m, {});
                        m.blocks[0].up.scale[2] = std::nanf("");
                      }), "finite", "NaN scale");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) {
                        test::quantize_encoder(&m, {});
                        m.patch.input_scale = 0.0f;
                      }), "> 0", "zero input scale");
  expect_format_error(with([](test::RefModel& m, test::GgufWriter&) {
                        test::quantize_encoder(&m, {});
                        m.blocks[0].down.q[7] = -128;
                      }), "[-127, 127]", "-128 weight");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.string_override["vigil-tst.quantization"] = "q4";
                      }), "q8_static", "quantization name");
  expect_format_error(with([](test::RefModel&, test::GgufWriter& w) {
                        w.string_override["vigil-tst.frontend"] = "mel";
                      }), "spectral", "frontend name");
}

TEST(reconstruction_flag_and_unknown_tensors) {
  test::TinySpec s = tiny();
  s.recon = false;
  test::RefModel m = test::random_model(s);
  std::unique_ptr<Model> model;
  Status st = load(test::write_gguf(m), &model);
  EXPECT(st.ok()) << st.message();
  if (st.ok()) EXPECT(!model->info().hp.has_reconstruction);
  // has_reconstruction = false but recon tensors present: unknown tensors are an error.
  test::RefModel with_recon = test::random_model(tiny());
  Bytes b = test::write_gguf(with_recon);
  const size_t hr = after_string(b, "vigil-tst.has_reconstruction");
  EXPECT(hr != 0);
  b[hr + 4] = 0;  // the bool value
  expect_format_error(b, "does not use it", "recon present but disabled");
}

TEST(spectral_constraints) {
  test::TinySpec s;
  s.spectral = true;
  s.window = 64;
  s.channels = 1;
  s.sample_rate = 64.0f;
  s.bins = 8;
  s.band_low = 4.0f;
  s.band_high = 20.0f;
  s.patch = 2;
  s.d = 8;
  s.ff = 16;
  s.blocks = 1;
  EXPECT(load(test::write_gguf(test::random_model(s))).ok());
  test::GgufWriter w;
  w.u32_override["vigil-tst.frontend.bins"] = 6;  // does not divide T/2 = 32
  expect_format_error(test::write_gguf(test::random_model(s), w), "divisor", "bins");
  test::GgufWriter w2;
  w2.u32_override["vigil-tst.window_length"] = 48;
  expect_format_error(test::write_gguf(test::random_model(s), w2), "power of two", "window");
}

TEST(isa_and_options) {
  const Bytes b = tiny_file(true);
  std::unique_ptr<Model> m;
  LoadOptions o;
  o.isa = "bogus";
  Status s = Model::load_buffer(b.data(), b.size(), o, &m);
  EXPECT(s.code() == StatusCode::kIsaUnavailable) << s.message();
  EXPECT(shaped(s)) << s.message();
  o.isa = "";
  o.threads = 0;
  s = Model::load_buffer(b.data(), b.size(), o, &m);
  EXPECT(s.code() == StatusCode::kInvalidArgument) << s.message();
  setenv("VIGIL_ISA", "bogus", 1);
  o.threads = 1;
  s = Model::load_buffer(b.data(), b.size(), o, &m);
  EXPECT(s.code() == StatusCode::kIsaUnavailable) << s.message();
  o.isa = "scalar";  // an explicit option wins over the environment
  s = Model::load_buffer(b.data(), b.size(), o, &m);
  EXPECT(s.ok()) << s.message();
  unsetenv("VIGIL_ISA");
}

TEST(load_file_errors) {
  std::unique_ptr<Model> m;
  Status s = Model::load_file("/nonexistent/model.gguf", LoadOptions(), &m);
  EXPECT(s.code() == StatusCode::kIo) << s.message();
  EXPECT(m == nullptr);
  s = Model::load_file("/", LoadOptions(), &m);
  EXPECT(!s.ok());
  const Bytes b = tiny_file();
  const std::string path = "/tmp/vigil_engine_loader_test.gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
  s = Model::load_file(path, LoadOptions(), &m);
  EXPECT(s.ok()) << s.message();
  std::remove(path.c_str());
}

int main() { return vigil::test::run_all_tests(); }
