#include "run_worker.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>

#include "errors.h"

namespace vigil::binding {

OutputLayout output_layout(const Model& model) {
  const Hyperparameters& hp = model.info().hp;
  OutputLayout l;
  l.probs = hp.class_count;
  l.embedding = hp.embedding_length;
  l.patch_error = hp.has_reconstruction ? hp.tokens : 0;
  l.channel_error = hp.has_reconstruction ? hp.feature_channels : 0;
  return l;
}

OutputBuffers output_buffers(const OutputLayout& l, float* block) {
  OutputBuffers out;
  out.probs = block;
  out.embedding = block + l.probs;
  float* patch = out.embedding + l.embedding;
  out.patch_error = l.patch_error == 0 ? nullptr : patch;
  out.channel_error = l.channel_error == 0 ? nullptr : patch + l.patch_error;
  return out;
}

Status run_locked(ModelState& state, const float* input, size_t length, float* block,
                  double* inference_us) {
  std::lock_guard<std::mutex> lock(state.mutex);
  return run_held(state, input, length, block, inference_us);
}

Status run_held(ModelState& state, const float* input, size_t length, float* block,
                double* inference_us) {
  const OutputBuffers out = output_buffers(output_layout(*state.model), block);
  const auto t0 = std::chrono::steady_clock::now();
  Status s = state.model->run(input, length, out);
  const auto t1 = std::chrono::steady_clock::now();
  *inference_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  return s;
}

bool copy_finite(const float* src, size_t n, float* dst) {
  // A float is finite iff its exponent bits are not all ones: max over |bits| < 0x7f800000.
  uint32_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, src + i, sizeof u);
    u &= 0x7fffffffu;
    m = u > m ? u : m;
    dst[i] = src[i];
  }
  return m < 0x7f800000u;
}

namespace {
napi_value view(Napi::Env env, napi_value buffer, size_t byte_offset, size_t length) {
  napi_value out = nullptr;
  napi_status s = napi_create_typedarray(env, napi_float32_array, length, buffer, byte_offset, &out);
  NAPI_THROW_IF_FAILED(env, s, nullptr);
  return out;
}
}  // namespace

Napi::Object result_to_js(Napi::Env env, const OutputLayout& l, Napi::ArrayBuffer buffer,
                          size_t byte_offset, double inference_us) {
  size_t at = byte_offset;
  napi_value probs = view(env, buffer, at, l.probs);
  at += l.probs * sizeof(float);
  napi_value embedding = view(env, buffer, at, l.embedding);
  at += l.embedding * sizeof(float);
  napi_value patch = view(env, buffer, at, l.patch_error);
  at += l.patch_error * sizeof(float);
  napi_value channel = view(env, buffer, at, l.channel_error);
  // One call for the five properties; writable, enumerable, configurable like obj.x = v.
  const napi_property_attributes a = napi_default_jsproperty;
  const napi_property_descriptor d[] = {
      {"probs", nullptr, nullptr, nullptr, nullptr, probs, a, nullptr},
      {"embedding", nullptr, nullptr, nullptr, nullptr, embedding, a, nullptr},
      {"patchError", nullptr, nullptr, nullptr, nullptr, patch, a, nullptr},
      {"channelError", nullptr, nullptr, nullptr, nullptr, channel, a, nullptr},
      {"inferenceUs", nullptr, nullptr, nullptr, nullptr, Napi::Number::New(env, inference_us), a,
       nullptr},
  };
  Napi::Object o = Napi::Object::New(env);
  napi_status s = napi_define_properties(env, o, sizeof d / sizeof d[0], d);
  NAPI_THROW_IF_FAILED(env, s, Napi::Object());
  return o;
}

RunQueue::~RunQueue() {
  // Only reachable with runs never started (environment teardown): they were not queued, so
  // AsyncWorker will not delete them.
  for (RunWorker* w : pending_) delete w;
}

void RunQueue::submit(RunWorker* w) {
  if (busy_) {
    pending_.push_back(w);
    return;
  }
  busy_ = true;
  w->Queue();
}

void RunQueue::done() {
  if (pending_.empty()) {
    busy_ = false;
    return;
  }
  RunWorker* next = pending_.front();
  pending_.pop_front();
  next->Queue();
}

void RunWorker::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  queue_->done();
  deferred_.Reject(coded_error(Env(), "ENGINE_INTERNAL", e.Message()).Value());
}

namespace {
// Catch-all: nothing may escape into libuv. The engine itself returns statuses; this guards
// anything unforeseen.
template <typename F>
Status guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("failed to run model with an exception: ") + e.what());
  } catch (...) {
    return Status(StatusCode::kInternal, "failed to run model with an unknown exception: no detail");
  }
}
}  // namespace

RunWorker::RunWorker(Napi::Env env, std::shared_ptr<ModelState> state, std::shared_ptr<RunQueue> queue,
                     std::vector<float> storage, size_t count, size_t length, OutputLayout layout,
                     bool batch)
    : Napi::AsyncWorker(env, batch ? "vigil.runBatch" : "vigil.run"),
      deferred_(Napi::Promise::Deferred::New(env)),
      state_(std::move(state)),
      queue_(std::move(queue)),
      storage_(std::move(storage)),
      count_(count),
      length_(length),
      layout_(layout),
      batch_(batch),
      inference_us_(count, 0.0) {}

void RunWorker::Execute() {
  status_ = guarded([&] {
    float* outputs = storage_.data() + count_ * length_;
    std::lock_guard<std::mutex> lock(state_->mutex);  // once for the whole batch
    for (size_t i = 0; i < count_; ++i) {
      failed_index_ = i;  // the window in progress, should anything throw
      Status s = run_held(*state_, storage_.data() + i * length_, length_, outputs + i * layout_.total(),
                          &inference_us_[i]);
      if (!s.ok()) {
        if (!batch_) return s;
        return Status(s.code(), "failed to run batch input " + std::to_string(i) + " of " +
                                    std::to_string(count_) + ": " + s.message());
      }
    }
    return Status::Ok();
  });
}

void RunWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  queue_->done();  // start the next run first: settling may run user code synchronously
  if (!status_.ok()) {
    Napi::Error e = status_error(env, status_);
    if (batch_) e.Set("index", Napi::Number::New(env, static_cast<double>(failed_index_)));
    deferred_.Reject(e.Value());
    return;
  }
  const size_t block = layout_.total();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, count_ * block * sizeof(float));
  if (count_ > 0) {
    std::memcpy(buffer.Data(), storage_.data() + count_ * length_, count_ * block * sizeof(float));
  }
  if (!batch_) {
    deferred_.Resolve(result_to_js(env, layout_, buffer, 0, inference_us_[0]));
    return;
  }
  Napi::Array out = Napi::Array::New(env, count_);
  for (size_t i = 0; i < count_; ++i) {
    out.Set(static_cast<uint32_t>(i),
            result_to_js(env, layout_, buffer, i * block * sizeof(float), inference_us_[i]));
  }
  deferred_.Resolve(out);
}

}  // namespace vigil::binding
