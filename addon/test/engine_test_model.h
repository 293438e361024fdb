// Test support: a GGUF v3 writer and random vigil-tst models (fp32 or int8) for the engine
// tests, the fuzzer seed corpus and the binding fixtures (engine_make_fixtures).
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace vigil::test {

class GgufWriter {
 public:
  void add_string(const std::string& key, const std::string& v);
  void add_u32(const std::string& key, uint32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  // ne fastest-first (GGUF order).
  void add_tensor_f32(const std::string& name, std::vector<uint64_t> ne, const std::vector<float>& v);
  void add_tensor_i8(const std::string& name, std::vector<uint64_t> ne, const std::vector<int8_t>& v);
  std::vector<uint8_t> finish(uint32_t alignment = 32) const;

  // Test hooks for hostile files: keys/tensors to leave out, values to replace.
  std::set<std::string> skip;
  std::map<std::string, uint32_t> u32_override;
  std::map<std::string, std::string> string_override;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::vector<uint8_t> bytes;
  };
  std::vector<uint8_t> kv_;
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

struct TinySpec {
  uint32_t window = 32;    // T
  uint32_t channels = 2;   // C
  float sample_rate = 32.0f;
  bool spectral = false;
  uint32_t bins = 0;       // B (spectral)
  float band_low = 0.0f, band_high = 0.0f;
  uint32_t patch = 4;      // P
  uint32_t d = 16;
  uint32_t heads = 2;
  uint32_t ff = 32;
  uint32_t blocks = 2;
  uint32_t classes = 3;
  bool recon = true;
  float ln_eps = 1e-5f;
  uint64_t seed = 1;

  uint32_t feature_length() const { return spectral ? bins : window; }
  uint32_t feature_channels() const { return spectral ? 3 * channels : channels; }
  uint32_t tokens() const { return feature_length() / patch; }
  uint32_t patch_width() const { return patch * feature_channels(); }
};

struct RefLinear {
  std::string name;
  size_t in = 0, out = 0;
  std::vector<float> w;  // [out][in]: fp32 weights (the dequantized ones once quantized)
  std::vector<float> b;  // [out]
  bool int8 = false;
  std::vector<int8_t> q;
  std::vector<float> scale;
  float input_scale = 0.0f;
};

struct RefBlock {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  RefLinear qkv, out, up, down;
};

struct RefModel {
  TinySpec spec;
  std::vector<float> mean, std, pos;  // [C'], [C'], [N][d]
  RefLinear patch;
  std::vector<RefBlock> blocks;
  std::vector<float> out_w, out_b;
  RefLinear cls, recon;
};

RefModel random_model(const TinySpec& spec);

// Per-output-channel symmetric int8 for the five encoder linears (docs/model-format.md §4),
// with static input scales absmax / 127 taken from `input_abs_max` (by linear name).
void quantize_encoder(RefModel* m, const std::map<std::string, float>& input_abs_max);

std::vector<uint8_t> write_gguf(const RefModel& m, GgufWriter w = GgufWriter());

// A random raw window of T*C values (gaussian-ish plus a sine per channel).
std::vector<float> random_window(const TinySpec& spec, uint64_t seed);

struct RefOutputs {
  std::vector<double> features, probs, embedding, patch_error, channel_error;
};

// Straightforward double-precision forward of docs/model-format.md (naive DFT for the front end).
RefOutputs reference_forward(const RefModel& m, const std::vector<float>& x);
std::vector<double> reference_features(const TinySpec& spec, const std::vector<float>& x);

}  // namespace vigil::test
