// Builds a ModelImpl from GGUF bytes: interprets the vigil-tst metadata (docs/model-format.md
// §4), checks every hyperparameter against caps and every tensor against the shapes they
// imply, checks values (finite floats, positive scales, int8 weights in [-127, 127]), packs the
// int8 weights once with the selected kernel table and lays out the activation arena.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <exception>
#include <set>

#include "attention_int8.h"
#include "gguf_reader.h"
#include "kernels/dispatch.h"
#include "model_impl.h"
#include "ops.h"

namespace vigil {
namespace {

constexpr const char* kArch = "vigil-tst";

// Caps on hyperparameters: far above any model this product ships, low enough that every
// derived size below fits comfortably in size_t and a hostile file cannot ask for terabytes.
constexpr uint64_t kMaxWindow = 1u << 20;
constexpr uint64_t kMaxSpectralWindow = 1u << 16;
constexpr uint64_t kMaxChannels = 4096;
constexpr uint64_t kMaxTokens = 4096;
constexpr uint64_t kMaxWidth = 4096;
constexpr uint64_t kMaxFeedForward = 16384;
constexpr uint64_t kMaxBlocks = 64;
constexpr uint64_t kMaxClasses = 4096;
constexpr uint64_t kMaxPatchWidth = 1u << 16;  // P * C'
constexpr uint64_t kMaxArenaBytes = uint64_t{1} << 30;

Status fmt(const std::string& verb, const std::string& object, const std::string& value,
           const std::string& constraint) {
  return make_error(StatusCode::kModelFormat, verb, object, value, constraint);
}

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

class Meta {
 public:
  explicit Meta(const gguf::File& f) : f_(f) {}

  Status u32(const std::string& key, bool required, uint32_t dflt, uint64_t lo, uint64_t hi,
             uint32_t* out) const {
    const gguf::KeyValue* kv = f_.find(key);
    if (kv == nullptr) {
      if (required) return fmt("read", "metadata " + key, "no value", "the key is required");
      *out = dflt;
      return Status::Ok();
    }
    const gguf::Value& v = kv->value;
    using T = gguf::ValueType;
    int64_t x = 0;
    switch (v.type) {
      case T::kU8: case T::kU16: case T::kU32: case T::kU64:
        if (v.u > static_cast<uint64_t>(INT64_MAX)) return fmt("read", "metadata " + key, std::to_string(v.u), "out of range");
        x = static_cast<int64_t>(v.u);
        break;
      case T::kI8: case T::kI16: case T::kI32: case T::kI64: x = v.i; break;
      default:
        return fmt("read", "metadata " + key, std::string("type ") + gguf::value_type_name(v.type),
                   "expected an integer (u32)");
    }
    if (x < static_cast<int64_t>(lo) || x > static_cast<int64_t>(hi)) {
      return fmt("read", "metadata " + key, std::to_string(x),
                 "expected " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    *out = static_cast<uint32_t>(x);
    return Status::Ok();
  }

  Status f32(const std::string& key, bool required, float dflt, float* out) const {
    const gguf::KeyValue* kv = f_.find(key);
    if (kv == nullptr) {
      if (required) return fmt("read", "metadata " + key, "no value", "the key is required");
      *out = dflt;
      return Status::Ok();
    }
    const gguf::Value& v = kv->value;
    if (v.type != gguf::ValueType::kF32 && v.type != gguf::ValueType::kF64) {
      return fmt("read", "metadata " + key, std::string("type ") + gguf::value_type_name(v.type),
                 "expected f32");
    }
    if (!std::isfinite(v.f) || !std::isfinite(static_cast<float>(v.f))) {
      return fmt("read", "metadata " + key, num(v.f), "expected a finite number");
    }
    *out = static_cast<float>(v.f);
    return Status::Ok();
  }

  Status str(const std::string& key, bool required, const std::string& dflt,
             std::string* out) const {
    const gguf::KeyValue* kv = f_.find(key);
    if (kv == nullptr) {
      if (required) return fmt("read", "metadata " + key, "no value", "the key is required");
      *out = dflt;
      return Status::Ok();
    }
    if (kv->value.type != gguf::ValueType::kString) {
      return fmt("read", "metadata " + key,
                 std::string("type ") + gguf::value_type_name(kv->value.type), "expected string");
    }
    *out = kv->value.str;
    return Status::Ok();
  }

  Status boolean(const std::string& key, bool required, bool dflt, bool* out) const {
    const gguf::KeyValue* kv = f_.find(key);
    if (kv == nullptr) {
      if (required) return fmt("read", "metadata " + key, "no value", "the key is required");
      *out = dflt;
      return Status::Ok();
    }
    if (kv->value.type != gguf::ValueType::kBool) {
      return fmt("read", "metadata " + key,
                 std::string("type ") + gguf::value_type_name(kv->value.type), "expected bool");
    }
    *out = kv->value.u != 0;
    return Status::Ok();
  }

  Status strings(const std::string& key, std::vector<std::string>* out) const {
    const gguf::KeyValue* kv = f_.find(key);
    if (kv == nullptr) return fmt("read", "metadata " + key, "no value", "the key is required");
    if (kv->value.type != gguf::ValueType::kArray ||
        kv->value.array_type != gguf::ValueType::kString) {
      return fmt("read", "metadata " + key,
                 std::string("type ") + gguf::value_type_name(kv->value.type),
                 "expected an array of strings");
    }
    *out = kv->value.strings;
    return Status::Ok();
  }

 private:
  const gguf::File& f_;
};

std::string shape_of(const gguf::TensorInfo& t) {
  std::string s = "ne=[";
  for (uint32_t d = 0; d < t.n_dims; ++d) {
    if (d) s += ',';
    s += std::to_string(t.ne[d]);
  }
  return s + "]";
}

class TensorReader {
 public:
  explicit TensorReader(const gguf::File& f) : f_(f) {}

  // Finds `name` with type `type` and shape `ne` (fastest-first; trailing 1s are ignored on
  // both sides, so a [1] scale may be written with 1 or more dimensions).
  Status get(const std::string& name, gguf::TensorType type, std::vector<uint64_t> ne,
             const gguf::TensorInfo** out) {
    const gguf::TensorInfo* t = f_.find_tensor(name);
    if (t == nullptr) return fmt("load", "tensor " + name, "no tensor", "the tensor is required");
    used_.insert(name);
    if (t->type != type) {
      return fmt("load", "tensor " + name,
                 std::string("type ") + (t->type == gguf::TensorType::kF32 ? "F32" : "I8"),
                 std::string("expected ") + (type == gguf::TensorType::kF32 ? "F32" : "I8"));
    }
    std::vector<uint64_t> actual(t->ne, t->ne + t->n_dims);
    while (actual.size() > 1 && actual.back() == 1) actual.pop_back();
    while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
    if (actual != ne) {
      std::string want = "expected ne=[";
      for (size_t d = 0; d < ne.size(); ++d) want += (d ? "," : "") + std::to_string(ne[d]);
      return fmt("load", "tensor " + name, shape_of(*t), want + "] from the hyperparameters");
    }
    *out = t;
    return Status::Ok();
  }

  // Copies an F32 tensor, checking that every value is finite (and > 0 when positive is set).
  Status f32(const std::string& name, std::vector<uint64_t> ne, bool positive,
             std::vector<float>* out) {
    const gguf::TensorInfo* t = nullptr;
    Status s = get(name, gguf::TensorType::kF32, std::move(ne), &t);
    if (!s.ok()) return s;
    out->resize(static_cast<size_t>(t->elements));
    std::memcpy(out->data(), t->data, static_cast<size_t>(t->nbytes));
    // Branch-free check first (vectorizes); the loop below only finds the offending value.
    int bad = 0;
    const float* v0 = out->data();
    const float kMax = std::numeric_limits<float>::max();
    for (size_t j = 0; j < out->size(); ++j) {
      const float v = v0[j];
      bad |= static_cast<int>(!(v >= -kMax && v <= kMax)) | static_cast<int>(positive && !(v > 0.0f));
    }
    if (bad == 0) return Status::Ok();
    for (size_t j = 0; j < out->size(); ++j) {
      const float v = (*out)[j];
      if (!std::isfinite(v)) {
        return fmt("load", "tensor " + name, "value " + num(v) + " at " + std::to_string(j),
                   "values must be finite");
      }
      if (positive && !(v > 0.0f)) {
        return fmt("load", "tensor " + name, "value " + num(v) + " at " + std::to_string(j),
                   "values must be > 0");
      }
    }
    return Status::Ok();
  }

  bool type_of(const std::string& name, gguf::TensorType* type) const {
    const gguf::TensorInfo* t = f_.find_tensor(name);
    if (t == nullptr) return false;
    *type = t->type;
    return true;
  }

  Status check_all_used() const {
    for (const gguf::TensorInfo& t : f_.tensors) {
      if (used_.count(t.name) == 0) {
        return fmt("load", "tensor " + t.name, shape_of(t),
                   "the model does not use it (unknown name, or a head the metadata disables)");
      }
    }
    return Status::Ok();
  }

 private:
  const gguf::File& f_;
  std::set<std::string> used_;
};

Status load_linear(TensorReader& tr, const kernels::KernelTable* kt, const std::string& name,
                   size_t in, size_t out, Linear* l) {
  l->name = name;
  l->in = in;
  l->out = out;
  Status s = tr.f32(name + ".bias", {out}, false, &l->bias);
  if (!s.ok()) return s;
  const std::string wname = name + ".weight";
  const gguf::TensorInfo* w = nullptr;
  // The weight's own type decides how this linear runs (docs/model-format.md §4).
  gguf::TensorType wtype = gguf::TensorType::kF32;
  if (!tr.type_of(wname, &wtype)) {
    return fmt("load", "tensor " + wname, "no tensor", "the tensor is required");
  }
  s = tr.get(wname, wtype, {in, out}, &w);
  if (!s.ok()) return s;
  if (wtype == gguf::TensorType::kF32) {
    l->int8 = false;
    std::vector<float> wf(in * out);
    std::memcpy(wf.data(), w->data, wf.size() * sizeof(float));
    l->wt.resize(in * out);
    for (size_t o = 0; o < out; ++o) {
      for (size_t k = 0; k < in; ++k) {
        const float v = wf[o * in + k];
        if (!std::isfinite(v)) {
          return fmt("load", "tensor " + wname, "value " + num(v) + " at " + std::to_string(o * in + k),
                     "values must be finite");
        }
        l->wt[k * out + o] = v;
      }
    }
    return Status::Ok();
  }
  l->int8 = true;
  const int8_t* q = reinterpret_cast<const int8_t*>(w->data);
  // A branch-free scan first (it vectorizes), the position only for the error message.
  int any_min = 0;
  for (size_t j = 0; j < in * out; ++j) any_min |= q[j] == -128;
  if (any_min != 0) {
    size_t j = 0;
    while (q[j] != -128) ++j;
    return fmt("load", "tensor " + wname, "value -128 at " + std::to_string(j),
               "int8 weights are symmetric, in [-127, 127]");
  }
  std::vector<float> wscale, iscale;
  s = tr.f32(name + ".scale", {out}, true, &wscale);
  if (!s.ok()) return s;
  s = tr.f32(name + ".input_scale", {1}, true, &iscale);
  if (!s.ok()) return s;
  l->input_scale = iscale[0];
  l->inv_input_scale = 1.0f / iscale[0];
  if (!std::isfinite(l->inv_input_scale)) {
    return fmt("load", "tensor " + name + ".input_scale", num(iscale[0]),
               "its reciprocal must be finite");
  }
  l->epi_scale.resize(out);
  for (size_t o = 0; o < out; ++o) {
    l->epi_scale[o] = l->input_scale * wscale[o];
    if (!std::isfinite(l->epi_scale[o])) {
      return fmt("load", "tensor " + name + ".scale", num(wscale[o]) + " at " + std::to_string(o),
                 "input_scale * scale must be finite");
    }
  }
  if (kt == nullptr) return Status(StatusCode::kInternal, "no kernel table selected");
  // Weights in the file may sit at any address: pack() reads bytes, no alignment assumed, and
  // writes every byte of packed_size (so the buffer needs no zeroing first).
  if (!l->packed.allocate(kt->packed_size(out, in), /*zero=*/false)) {
    return make_error(StatusCode::kOutOfMemory, "allocate", "packed weights of " + name,
                      std::to_string(kt->packed_size(out, in)) + " bytes", "out of memory");
  }
  kt->pack(q, out, in, l->packed.data());
  return Status::Ok();
}

Status load_norm(TensorReader& tr, const std::string& name, size_t d, LayerNormParams* p) {
  Status s = tr.f32(name + ".weight", {d}, false, &p->weight);
  if (!s.ok()) return s;
  return tr.f32(name + ".bias", {d}, false, &p->bias);
}

Status select_table(const LoadOptions& options, const kernels::KernelTable** out) {
  std::string name = options.isa;
  if (name.empty()) {
    const char* env = std::getenv("VIGIL_ISA");
    if (env != nullptr) name = env;
  }
  std::string error;
  const kernels::KernelTable* kt = kernels::select_kernels(name.empty() ? nullptr : name.c_str(), &error);
  if (kt == nullptr) {
    return make_error(StatusCode::kIsaUnavailable, "select", "kernel path",
                      name.empty() ? std::string("the default") : name,
                      error.empty() ? "not available on this CPU or not compiled in" : error);
  }
  *out = kt;
  return Status::Ok();
}

}  // namespace

Status build_model(const uint8_t* data, size_t size, const LoadOptions& options,
                   std::unique_ptr<ModelImpl>* out) {
  out->reset();
  if (options.threads < 1 || options.threads > 64) {
    return make_error(StatusCode::kInvalidArgument, "load", "model",
                      "threads=" + std::to_string(options.threads), "expected 1..64");
  }
  std::string attention = options.attention;
  if (attention.empty()) {
    const char* env = std::getenv("VIGIL_ATTENTION");
    attention = env != nullptr && env[0] != '\0' ? env : "auto";
  }
  if (attention != "f32" && attention != "int8" && attention != "auto") {
    return make_error(StatusCode::kInvalidArgument, "load", "model",
                      "attention=\"" + attention + "\"", "expected \"auto\", \"f32\" or \"int8\"");
  }
  gguf::File file;
  Status s = gguf::parse(data, size, &file);
  if (!s.ok()) return s;

  auto m = std::make_unique<ModelImpl>();
  m->threads = options.threads;
  ModelInfo& info = m->info;
  Hyperparameters& hp = info.hp;
  Meta meta(file);
  const std::string p = std::string(kArch) + ".";

  if (!(s = meta.str("general.architecture", true, "", &info.architecture)).ok()) return s;
  if (info.architecture != kArch) {
    return fmt("load", "model", "architecture \"" + info.architecture + "\"",
               "the engine runs vigil-tst only (use the onnx backend for other models)");
  }
  if (!(s = meta.str("general.name", false, "", &info.name)).ok()) return s;
  if (!(s = meta.str("general.version", false, "", &info.version)).ok()) return s;
  if (!(s = meta.str(p + "quantization", true, "", &info.quantization)).ok()) return s;
  if (info.quantization != "f32" && info.quantization != "q8_static") {
    return fmt("read", "metadata " + p + "quantization", "\"" + info.quantization + "\"",
               "expected \"f32\" or \"q8_static\"");
  }
  if (!(s = meta.u32(p + "window_length", true, 0, 1, kMaxWindow, &hp.window_length)).ok()) return s;
  if (!(s = meta.u32(p + "channel_count", true, 0, 1, kMaxChannels, &hp.channel_count)).ok()) return s;
  if (!(s = meta.f32(p + "sample_rate", true, 0.0f, &hp.sample_rate_hz)).ok()) return s;
  if (!(hp.sample_rate_hz > 0.0f)) {
    return fmt("read", "metadata " + p + "sample_rate", num(hp.sample_rate_hz), "expected > 0");
  }
  if (!(s = meta.strings(p + "channel_names", &info.channel_names)).ok()) return s;
  if (info.channel_names.size() != hp.channel_count) {
    return fmt("read", "metadata " + p + "channel_names",
               std::to_string(info.channel_names.size()) + " names",
               "expected channel_count = " + std::to_string(hp.channel_count));
  }
  std::string frontend;
  if (!(s = meta.str(p + "frontend", true, "", &frontend)).ok()) return s;
  const uint64_t t = hp.window_length, c = hp.channel_count;
  if (frontend == "none") {
    hp.frontend = Frontend::kNone;
    hp.feature_length = hp.window_length;
    hp.feature_channels = hp.channel_count;
  } else if (frontend == "spectral") {
    hp.frontend = Frontend::kSpectral;
    if (t < 4 || t > kMaxSpectralWindow || (t & (t - 1)) != 0) {
      return fmt("read", "metadata " + p + "window_length", std::to_string(t),
                 "the spectral front end needs a power of two in [4, 65536]");
    }
    if (!(s = meta.u32(p + "frontend.bins", true, 0, 1, t / 2, &hp.frontend_bins)).ok()) return s;
    if ((t / 2) % hp.frontend_bins != 0) {
      return fmt("read", "metadata " + p + "frontend.bins", std::to_string(hp.frontend_bins),
                 "expected a divisor of window_length/2 = " + std::to_string(t / 2));
    }
    if (!(s = meta.f32(p + "frontend.band_low_hz", true, 0.0f, &hp.band_low_hz)).ok()) return s;
    if (!(s = meta.f32(p + "frontend.band_high_hz", true, 0.0f, &hp.band_high_hz)).ok()) return s;
    if (hp.band_low_hz < 0.0f || hp.band_high_hz < hp.band_low_hz) {
      return fmt("read", "metadata " + p + "frontend.band_low_hz/band_high_hz",
                 num(hp.band_low_hz) + ".." + num(hp.band_high_hz),
                 "expected 0 <= band_low_hz <= band_high_hz");
    }
    if (3 * c > kMaxChannels) {
      return fmt("read", "metadata " + p + "channel_count", std::to_string(c),
                 "3 * channel_count must be <= " + std::to_string(kMaxChannels));
    }
    hp.feature_length = hp.frontend_bins;
    hp.feature_channels = static_cast<uint32_t>(3 * c);
  } else {
    return fmt("read", "metadata " + p + "frontend", "\"" + frontend + "\"",
               "expected \"none\" or \"spectral\"");
  }
  const uint64_t tf = hp.feature_length, cf = hp.feature_channels;
  if (!(s = meta.u32(p + "patch_length", true, 0, 1, tf, &hp.patch_length)).ok()) return s;
  if (tf % hp.patch_length != 0) {
    return fmt("read", "metadata " + p + "patch_length", std::to_string(hp.patch_length),
               "must divide the feature length " + std::to_string(tf));
  }
  hp.tokens = static_cast<uint32_t>(tf / hp.patch_length);
  if (hp.tokens > kMaxTokens) {
    return fmt("read", "metadata " + p + "patch_length", std::to_string(hp.patch_length),
               std::to_string(hp.tokens) + " tokens exceed " + std::to_string(kMaxTokens));
  }
  const uint64_t pw = uint64_t{hp.patch_length} * cf;
  if (pw > kMaxPatchWidth) {
    return fmt("read", "metadata " + p + "patch_length", std::to_string(hp.patch_length),
               "patch width P*C' = " + std::to_string(pw) + " exceeds " + std::to_string(kMaxPatchWidth));
  }
  if (!(s = meta.u32(p + "embedding_length", true, 0, 1, kMaxWidth, &hp.embedding_length)).ok()) return s;
  if (!(s = meta.u32(p + "block_count", true, 0, 1, kMaxBlocks, &hp.block_count)).ok()) return s;
  if (!(s = meta.u32(p + "attention.head_count", true, 0, 1, hp.embedding_length, &hp.head_count)).ok()) return s;
  if (hp.embedding_length % hp.head_count != 0) {
    return fmt("read", "metadata " + p + "attention.head_count", std::to_string(hp.head_count),
               "must divide embedding_length " + std::to_string(hp.embedding_length));
  }
  if (!(s = meta.u32(p + "feed_forward_length", true, 0, 1, kMaxFeedForward, &hp.feed_forward_length)).ok()) return s;
  if (!(s = meta.f32(p + "attention.layer_norm_epsilon", false, 1e-5f, &hp.layer_norm_epsilon)).ok()) return s;
  if (!(hp.layer_norm_epsilon > 0.0f)) {
    return fmt("read", "metadata " + p + "attention.layer_norm_epsilon", num(hp.layer_norm_epsilon),
               "expected > 0");
  }
  if (!(s = meta.strings(p + "labels", &info.labels)).ok()) return s;
  if (info.labels.empty() || info.labels.size() > kMaxClasses) {
    return fmt("read", "metadata " + p + "labels", std::to_string(info.labels.size()) + " labels",
               "expected 1.." + std::to_string(kMaxClasses));
  }
  hp.class_count = static_cast<uint32_t>(info.labels.size());
  if (!(s = meta.boolean(p + "has_reconstruction", true, false, &hp.has_reconstruction)).ok()) return s;

  for (const gguf::KeyValue& kv : file.kvs) {
    MetadataValue v;
    using T = gguf::ValueType;
    switch (kv.value.type) {
      case T::kString: v.kind = MetadataValue::Kind::kString; v.str = kv.value.str; break;
      case T::kBool: v.kind = MetadataValue::Kind::kBool; v.boolean = kv.value.u != 0; break;
      case T::kArray: continue;
      default: v.kind = MetadataValue::Kind::kNumber; v.number = kv.value.f; break;
    }
    info.metadata.emplace_back(kv.key, std::move(v));
  }

  s = select_table(options, &m->kernels);
  if (!s.ok()) return s;
  info.isa = m->kernels->name;

  const size_t n = hp.tokens, d = hp.embedding_length, f = hp.feed_forward_length;
  const size_t k = hp.class_count;
  TensorReader tr(file);
  if (!(s = tr.f32("norm.mean", {cf}, false, &m->norm_mean)).ok()) return s;
  if (!(s = tr.f32("norm.std", {cf}, true, &m->norm_std)).ok()) return s;
  if (!(s = tr.f32("pos_embd", {d, n}, false, &m->pos_embd)).ok()) return s;
  if (!(s = load_linear(tr, m->kernels, "patch_embd", pw, d, &m->patch_embd)).ok()) return s;
  m->blocks.resize(hp.block_count);
  for (size_t i = 0; i < hp.block_count; ++i) {
    Block& b = m->blocks[i];
    const std::string bp = "blk." + std::to_string(i) + ".";
    if (!(s = load_norm(tr, bp + "attn_norm", d, &b.attn_norm)).ok()) return s;
    if (!(s = load_linear(tr, m->kernels, bp + "attn_qkv", d, 3 * d, &b.attn_qkv)).ok()) return s;
    if (!(s = load_linear(tr, m->kernels, bp + "attn_output", d, d, &b.attn_output)).ok()) return s;
    if (!(s = load_norm(tr, bp + "ffn_norm", d, &b.ffn_norm)).ok()) return s;
    if (!(s = load_linear(tr, m->kernels, bp + "ffn_up", d, f, &b.ffn_up)).ok()) return s;
    if (!(s = load_linear(tr, m->kernels, bp + "ffn_down", f, d, &b.ffn_down)).ok()) return s;
    if (b.ffn_up.int8 && b.ffn_down.int8) {  // GELU as a table (forward.cc, ops.h)
      b.gelu = ops::make_gelu_table(b.ffn_down.input_scale);
      b.ffn_up_bias_q.assign(f, b.gelu.shift);
      for (size_t o = 0; o < b.ffn_up.bias.size(); ++o) b.ffn_up_bias_q[o] = b.ffn_up.bias[o] + b.gelu.shift;
    }
  }
  if (!(s = load_norm(tr, "output_norm", d, &m->output_norm)).ok()) return s;
  if (!(s = load_linear(tr, m->kernels, "cls", d, k, &m->cls)).ok()) return s;
  if (hp.has_reconstruction) {
    if (!(s = load_linear(tr, m->kernels, "recon", d, pw, &m->recon)).ok()) return s;
  }
  if (!(s = tr.check_all_used()).ok()) return s;

  if (hp.frontend == Frontend::kSpectral) {
    m->spectral = true;
    m->frontend.init(hp.window_length, hp.channel_count, hp.frontend_bins, hp.sample_rate_hz,
                     hp.band_low_hz, hp.band_high_hz);
  }

  // The static schedule's arena: every activation of one forward pass, 64-byte aligned slices.
  size_t max_in = pw;
  m->for_each_linear([&](const Linear& l) {
    if (l.in > max_in) max_in = l.in;
    if (l.int8) ++info.int8_linears; else ++info.f32_linears;
  });
  const size_t dh = d / hp.head_count;
  struct Slice { size_t bytes; size_t offset; };
  std::vector<Slice> slices;
  size_t total = 0;
  auto add = [&](size_t bytes) {
    const size_t off = total;
    total += (bytes + 63) / 64 * 64;
    slices.push_back({bytes, off});
    return off;
  };
  const size_t o_features = add(tf * cf * sizeof(float));
  const size_t o_patches = add(tf * cf * sizeof(float));
  const size_t o_h = add(n * d * sizeof(float));
  const size_t o_a = add(n * d * sizeof(float));
  const size_t o_qkv = add(n * 3 * d * sizeof(float));
  const size_t o_attn = add(n * d * sizeof(float));
  // The float FFN buffer is only needed by a block whose ffn_up -> ffn_down is not int8 -> int8
  // (that pair hands over int8 in q_ffn).
  bool need_ffn = false;
  for (const Block& b : m->blocks) need_ffn = need_ffn || !(b.ffn_up.int8 && b.ffn_down.int8);
  const size_t o_ffn = add(need_ffn ? n * f * sizeof(float) : 0);
  const size_t o_scr = add(hp.head_count * ops::attention_scratch_floats(n, dh) * sizeof(float));
  const size_t o_logits = add(k * sizeof(float));
  const size_t o_recon = add(hp.has_reconstruction ? n * pw * sizeof(float) : 0);
  const size_t o_qin = add(n * max_in);
  const size_t o_qffn = add(n * f);
  const size_t o_fe = add(m->spectral ? m->frontend.scratch_doubles() * sizeof(double) : 0);
  if (total > kMaxArenaBytes) {
    return make_error(StatusCode::kModelFormat, "allocate", "activation arena",
                      std::to_string(total) + " bytes",
                      "the hyperparameters need more than " + std::to_string(kMaxArenaBytes) + " bytes");
  }
  if (!m->arena.allocate(total)) {
    return make_error(StatusCode::kOutOfMemory, "allocate", "activation arena",
                      std::to_string(total) + " bytes", "out of memory");
  }
  unsigned char* base = m->arena.data();
  Buffers& bf = m->buf;
  bf.features = reinterpret_cast<float*>(base + o_features);
  bf.patches = reinterpret_cast<float*>(base + o_patches);
  bf.h = reinterpret_cast<float*>(base + o_h);
  bf.a = reinterpret_cast<float*>(base + o_a);
  bf.qkv = reinterpret_cast<float*>(base + o_qkv);
  bf.attn = reinterpret_cast<float*>(base + o_attn);
  bf.ffn = need_ffn ? reinterpret_cast<float*>(base + o_ffn) : nullptr;
  bf.attn_scratch = reinterpret_cast<float*>(base + o_scr);
  bf.logits = reinterpret_cast<float*>(base + o_logits);
  bf.recon = hp.has_reconstruction ? reinterpret_cast<float*>(base + o_recon) : nullptr;
  bf.q_in = reinterpret_cast<int8_t*>(base + o_qin);
  bf.q_ffn = reinterpret_cast<int8_t*>(base + o_qffn);
  bf.frontend = m->spectral ? reinterpret_cast<double*>(base + o_fe) : nullptr;

  size_t bytes = m->arena.size() + m->frontend.memory_bytes();
  bytes += (m->norm_mean.size() + m->norm_std.size() + m->pos_embd.size()) * sizeof(float);
  m->for_each_linear([&](const Linear& l) {
    bytes += (l.bias.size() + l.wt.size() + l.epi_scale.size()) * sizeof(float) + l.packed.size();
  });
  bytes += (m->blocks.size() * 4 + 2) * d * sizeof(float);
  for (const Block& b : m->blocks) {  // the GELU tables and their shifted ffn_up biases
    if (!b.ffn_up_bias_q.empty()) bytes += sizeof(b.gelu) + b.ffn_up_bias_q.size() * sizeof(float);
  }
  // int8 attention: only with an int8 kernel path in use (a model with an int8 linear); "auto"
  // picks it from kInt8AttentionMinTokens tokens (where it measured faster than float) for
  // heads of at most ops::kAttentionMaxHeadDim (its int16 scores must fit int32).
  if (attention == "int8" && info.int8_linears > 0 && dh > ops::kAttentionMaxHeadDim) {
    return make_error(StatusCode::kInvalidArgument, "load", "model",
                      "attention=\"int8\" with head dimension " + std::to_string(dh),
                      "int8 attention supports head dimensions up to " +
                          std::to_string(ops::kAttentionMaxHeadDim));
  }
  const bool attention_i8 =
      attention == "int8" ||
      (attention == "auto" && n >= kInt8AttentionMinTokens && dh <= ops::kAttentionMaxHeadDim);
  if (attention_i8 && info.int8_linears > 0) {
    m->attention_i8 = true;
    info.attention = "int8";
    // One slice for all heads single-threaded, one per head (one pool task each) with threads.
    const size_t slices = options.threads > 1 ? hp.head_count : 1;
    const size_t heads_per_call = options.threads > 1 ? 1 : hp.head_count;
    m->attn_i8_slice = (attention_i8_scratch_bytes(*m->kernels, n, dh, heads_per_call) + 63) / 64 * 64;
    if (!m->attn_i8.allocate(slices * m->attn_i8_slice)) {
      return make_error(StatusCode::kOutOfMemory, "allocate", "int8 attention scratch",
                        std::to_string(slices * m->attn_i8_slice) + " bytes", "out of memory");
    }
    bytes += m->attn_i8.size();
  }
  info.memory_bytes = bytes;
  if (options.threads > 1) {
    try {
      m->pool = std::make_unique<ThreadPool>(static_cast<size_t>(options.threads - 1));
    } catch (const std::exception& e) {  // std::system_error: the OS refused a thread
      return make_error(StatusCode::kOutOfMemory, "start", "worker threads",
                        std::to_string(options.threads - 1), e.what());
    }
  }
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace vigil
