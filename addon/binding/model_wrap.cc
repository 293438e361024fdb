#include "model_wrap.h"

#include <cmath>
#include <string>
#include <vector>

#include "errors.h"
#include "run_worker.h"

namespace vigil::binding {
namespace {

const char* const kIsaNames[] = {"scalar", "neon", "neon_dot", "sse41", "avx2", "avx512_vnni", "avx_vnni"};
const char* const kAttentionNames[] = {"auto", "f32", "int8"};

// options.<field>: absent, or one of `names` (stored in *out); anything else is
// ENGINE_INVALID_ARGUMENT naming the field, the value and the accepted names.
template <size_t N>
void read_name_option(Napi::Env env, const Napi::Object& obj, const char* field,
                      const char* const (&names)[N], std::string* out) {
  Napi::Value v = obj.Get(field);
  if (v.IsUndefined()) return;
  bool known = false;
  if (v.IsString()) {
    *out = v.As<Napi::String>().Utf8Value();
    for (const char* n : names) known = known || *out == n;
  }
  if (known) return;
  std::string accepted;
  for (const char* n : names) accepted += (accepted.empty() ? "" : ", ") + std::string(n);
  throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                         std::string("failed to load model with options.") + field + " " +
                             (v.IsString() ? "\"" + *out + "\"" : describe(v)) +
                             ": expected one of " + accepted);
}

Napi::Array strings_to_js(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t j = 0; j < v.size(); ++j) a.Set(static_cast<uint32_t>(j), Napi::String::New(env, v[j]));
  return a;
}

Napi::Object info_to_js(Napi::Env env, const ModelInfo& i) {
  const Hyperparameters& hp = i.hp;
  Napi::Object h = Napi::Object::New(env);
  h.Set("windowLength", hp.window_length);
  h.Set("channelCount", hp.channel_count);
  h.Set("sampleRateHz", static_cast<double>(hp.sample_rate_hz));
  h.Set("frontend", hp.frontend == Frontend::kSpectral ? "spectral" : "none");
  h.Set("frontendBins", hp.frontend_bins);
  h.Set("bandLowHz", static_cast<double>(hp.band_low_hz));
  h.Set("bandHighHz", static_cast<double>(hp.band_high_hz));
  h.Set("featureLength", hp.feature_length);
  h.Set("featureChannels", hp.feature_channels);
  h.Set("patchLength", hp.patch_length);
  h.Set("tokens", hp.tokens);
  h.Set("embeddingLength", hp.embedding_length);
  h.Set("blockCount", hp.block_count);
  h.Set("headCount", hp.head_count);
  h.Set("feedForwardLength", hp.feed_forward_length);
  h.Set("layerNormEpsilon", static_cast<double>(hp.layer_norm_epsilon));
  h.Set("classCount", hp.class_count);
  h.Set("hasReconstruction", hp.has_reconstruction);

  Napi::Object meta = Napi::Object::New(env);
  for (const auto& kv : i.metadata) {
    switch (kv.second.kind) {
      case MetadataValue::Kind::kString: meta.Set(kv.first, kv.second.str); break;
      case MetadataValue::Kind::kBool: meta.Set(kv.first, kv.second.boolean); break;
      case MetadataValue::Kind::kNumber: meta.Set(kv.first, kv.second.number); break;
    }
  }
  Napi::Array shape = Napi::Array::New(env, 2);
  shape.Set(0u, hp.window_length);
  shape.Set(1u, hp.channel_count);

  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", i.architecture);
  o.Set("name", i.name);
  o.Set("version", i.version);
  o.Set("quantization", i.quantization);
  o.Set("hyperparameters", h);
  o.Set("labels", strings_to_js(env, i.labels));
  o.Set("channelNames", strings_to_js(env, i.channel_names));
  o.Set("inputShape", shape);
  o.Set("metadata", meta);
  o.Set("isa", i.isa);
  o.Set("attention", i.attention);
  o.Set("memoryBytes", static_cast<double>(i.memory_bytes));
  return o;
}

// The raw window at the boundary: a Float32Array (its length and values: check_input()).
Napi::Float32Array check_window_type(Napi::Env env, const Napi::Value& v, size_t expected, const char* verb) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw coded_type_error(env, "ENGINE_INPUT_TYPE",
                           std::string("failed to ") + verb + " input window with " + describe(v) +
                               ": expected a Float32Array of windowLength * channelCount = " +
                               std::to_string(expected) + " values");
  }
  return v.As<Napi::Float32Array>();
}

// The whole window, a Float32Array of exactly T*C finite values, copied to dst (the copy made on
// the JS thread for a run on the pool). A failure throws the engine's check_input() error.
void copy_window(Napi::Env env, const Napi::Value& v, size_t expected, const char* verb, float* dst) {
  Napi::Float32Array a = check_window_type(env, v, expected, verb);
  if (a.ElementLength() != expected || !copy_finite(a.Data(), expected, dst)) {
    throw status_error(env, check_input(a.Data(), a.ElementLength(), expected));
  }
}

LoadOptions parse_options(Napi::Env env, const Napi::Value& v) {
  LoadOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) {
    throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                           "failed to load model with options " + describe(v) +
                               ": expected an object { isa?, threads?, attention? }");
  }
  Napi::Object obj = v.As<Napi::Object>();
  read_name_option(env, obj, "isa", kIsaNames, &o.isa);
  Napi::Value threads = obj.Get("threads");
  if (!threads.IsUndefined()) {
    const double t = threads.IsNumber() ? threads.As<Napi::Number>().DoubleValue() : NAN;
    if (!(t >= 1 && t <= 64 && std::floor(t) == t)) {
      throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                             "failed to load model with options.threads " + describe(threads) +
                                 ": expected an integer in 1..64");
    }
    o.threads = static_cast<int>(t);
  }
  read_name_option(env, obj, "attention", kAttentionNames, &o.attention);
  return o;
}

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {
                         InstanceAccessor<&ModelWrap::GetInfo>("info"),
                         InstanceAccessor<&ModelWrap::GetDisposed>("disposed"),
                         InstanceMethod<&ModelWrap::Run>("run"),
                         InstanceMethod<&ModelWrap::RunBatch>("runBatch"),
                         InstanceMethod<&ModelWrap::RunSync>("runSync"),
                         InstanceMethod<&ModelWrap::Features>("features"),
                         InstanceMethod<&ModelWrap::SetCalibration>("setCalibration"),
                         InstanceMethod<&ModelWrap::Calibration>("calibration"),
                         InstanceMethod<&ModelWrap::ResetCalibration>("resetCalibration"),
                         InstanceMethod<&ModelWrap::Dispose>("dispose"),
                     });
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (!info.IsConstructCall()) {
    throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT", "Model must be called with new");
  }
  const LoadOptions options = parse_options(env, info[1]);
  std::unique_ptr<Model> model;
  Status s;
  if (info[0].IsString()) {
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    if (path.empty()) {
      throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                             "failed to load model with an empty path: expected a GGUF file path");
    }
    s = Model::load_file(path, options, &model);
  } else if (info[0].IsTypedArray() &&
             info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    s = Model::load_buffer(bytes.Data(), bytes.ByteLength(), options, &model);
  } else {
    throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                           "failed to load model with source " + describe(info[0]) +
                               ": expected a GGUF path (string) or its bytes (Uint8Array)");
  }
  if (!s.ok()) throw status_error(env, s);
  state_ = std::make_shared<ModelState>();
  state_->model = std::move(model);
  info_ = Napi::Persistent(info_to_js(env, state_->model->info()));
}

ModelState& ModelWrap::live(Napi::Env env, const char* what) {
  if (!state_) {
    throw coded_error(env, "ENGINE_DISPOSED",
                      std::string("failed to ") + what + " model with a disposed model: call it before dispose()");
  }
  return *state_;
}

Napi::Value ModelWrap::GetInfo(const Napi::CallbackInfo&) { return info_.Value(); }

Napi::Value ModelWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

Napi::Value ModelWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Every failure, including argument errors, rejects the promise: callers handle one path.
  try {
    ModelState& st = live(env, "run");
    const size_t len = st.model->input_length();
    const OutputLayout layout = output_layout(*st.model);
    // One allocation: the window copy, then the output block (written on the pool).
    std::vector<float> storage(len + layout.total());
    copy_window(env, info[0], len, "run", storage.data());
    RunWorker* w = new RunWorker(env, state_, queue_, std::move(storage), 1, len, layout, false);
    Napi::Promise p = w->promise();
    queue_->submit(w);  // once queued, the worker deletes itself after OnOK/OnError
    return p;
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  } catch (const std::exception& e) {  // bad_alloc copying the window
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(coded_error(env, "ENGINE_OUT_OF_MEMORY", std::string("failed to run model with a copy of the window: ") + e.what()).Value());
    return d.Promise();
  }
}

Napi::Value ModelWrap::RunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Like run(): every failure rejects. Each element is checked here, on the JS thread, and a bad
  // one rejects the whole call with its index (message and `index` property) before any runs.
  auto reject = [&](const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  };
  try {
    ModelState& st = live(env, "run a batch on");
    if (!info[0].IsArray()) {
      throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                             "failed to run batch with inputs " + describe(info[0]) +
                                 ": expected an Array of Float32Array windows");
    }
    Napi::Array arr = info[0].As<Napi::Array>();
    const size_t n = arr.Length();
    if (n > kMaxBatch) {
      throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                             "failed to run batch with " + std::to_string(n) +
                                 " inputs: expected at most " + std::to_string(kMaxBatch));
    }
    const size_t len = st.model->input_length();
    const OutputLayout layout = output_layout(*st.model);
    // One allocation: the n windows back to back, then n output blocks (written on the pool).
    std::vector<float> storage(n * (len + layout.total()));
    for (size_t i = 0; i < n; ++i) {
      try {
        copy_window(env, arr.Get(static_cast<uint32_t>(i)), len, "run", storage.data() + i * len);
      } catch (Napi::Error& e) {
        const std::string code = e.Get("code").ToString().Utf8Value();
        const std::string msg =
            "failed to run batch input " + std::to_string(i) + " of " + std::to_string(n) + ": " + e.Message();
        Napi::Error indexed =
            code == "ENGINE_INPUT_TYPE" ? coded_type_error(env, code, msg) : coded_error(env, code, msg);
        indexed.Set("index", Napi::Number::New(env, static_cast<double>(i)));
        throw indexed;
      }
    }
    RunWorker* w = new RunWorker(env, state_, queue_, std::move(storage), n, len, layout, true);
    Napi::Promise p = w->promise();
    queue_->submit(w);  // once queued, the worker deletes itself after OnOK/OnError
    return p;
  } catch (const Napi::Error& e) {
    return reject(e);
  } catch (const std::exception& e) {  // bad_alloc copying the windows
    return reject(coded_error(env, "ENGINE_OUT_OF_MEMORY",
                              std::string("failed to run batch with a copy of the windows: ") + e.what()));
  }
}

Napi::Value ModelWrap::RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelState& st = live(env, "run");
  // The type here; length and finiteness in the engine's run() (the same check_input, so the
  // same codes and messages), which writes straight into the outputs' one ArrayBuffer.
  Napi::Float32Array x = check_window_type(env, info[0], st.model->input_length(), "run");
  const OutputLayout layout = output_layout(*st.model);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, layout.total() * sizeof(float));
  double inference_us = 0.0;
  Status s = run_locked(st, x.Data(), x.ElementLength(), static_cast<float*>(buffer.Data()), &inference_us);
  if (!s.ok()) throw status_error(env, s);
  return result_to_js(env, layout, buffer, 0, inference_us);
}

Napi::Value ModelWrap::Features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelState& st = live(env, "compute features of");
  // The type here; length and finiteness in the engine's features() (the same check_input).
  Napi::Float32Array x = check_window_type(env, info[0], st.model->input_length(), "compute features of");
  const size_t n = st.model->feature_length();
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  Status s;
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    s = st.model->features(x.Data(), x.ElementLength(), out.Data(), n);
  }
  if (!s.ok()) throw status_error(env, s);
  return out;
}

Napi::Value ModelWrap::SetCalibration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelState& st = live(env, "calibrate");
  if (!info[0].IsBoolean()) {
    throw coded_type_error(env, "ENGINE_INVALID_ARGUMENT",
                           "failed to set calibration with " + describe(info[0]) + ": expected a boolean");
  }
  Status s;
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    s = st.model->set_calibration(info[0].As<Napi::Boolean>().Value());
  }
  if (!s.ok()) throw status_error(env, s);
  return env.Undefined();
}

Napi::Value ModelWrap::Calibration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelState& st = live(env, "read calibration of");
  CalibrationStats cs;
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    cs = st.model->calibration();
  }
  Napi::Object m = Napi::Object::New(env);
  for (const auto& kv : cs.input_abs_max) m.Set(kv.first, static_cast<double>(kv.second));
  Napi::Object o = Napi::Object::New(env);
  o.Set("inputAbsMax", m);
  o.Set("windows", static_cast<double>(cs.windows));
  return o;
}

Napi::Value ModelWrap::ResetCalibration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelState& st = live(env, "reset calibration of");
  std::lock_guard<std::mutex> lock(st.mutex);
  st.model->reset_calibration();
  return env.Undefined();
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  // Drops this object's reference only: queued or running workers keep theirs and finish;
  // the engine (weights + arena) is freed by whichever holder lets go last. Idempotent.
  state_.reset();
  return info.Env().Undefined();
}

}  // namespace vigil::binding
