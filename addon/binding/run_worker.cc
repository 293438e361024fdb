#include "run_worker.h"

#include <chrono>
#include <cstring>
#include <exception>

#include "errors.h"

namespace vigil::binding {

void size_result(const Model& model, RunResult* r) {
  const Hyperparameters& hp = model.info().hp;
  r->probs.assign(hp.class_count, 0.0f);
  r->embedding.assign(hp.embedding_length, 0.0f);
  r->patch_error.assign(hp.has_reconstruction ? hp.tokens : 0, 0.0f);
  r->channel_error.assign(hp.has_reconstruction ? hp.feature_channels : 0, 0.0f);
}

Status run_locked(ModelState& state, const float* input, size_t length, RunResult* r) {
  std::lock_guard<std::mutex> lock(state.mutex);
  return run_held(state, input, length, r);
}

Status run_held(ModelState& state, const float* input, size_t length, RunResult* r) {
  size_result(*state.model, r);
  OutputBuffers out;
  out.probs = r->probs.data();
  out.embedding = r->embedding.data();
  out.patch_error = r->patch_error.empty() ? nullptr : r->patch_error.data();
  out.channel_error = r->channel_error.empty() ? nullptr : r->channel_error.data();
  const auto t0 = std::chrono::steady_clock::now();
  Status s = state.model->run(input, length, out);
  const auto t1 = std::chrono::steady_clock::now();
  r->inference_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  return s;
}

namespace {
Napi::Float32Array to_f32(Napi::Env env, const std::vector<float>& v) {
  Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}
}  // namespace

Napi::Object result_to_js(Napi::Env env, const RunResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("probs", to_f32(env, r.probs));
  o.Set("embedding", to_f32(env, r.embedding));
  o.Set("patchError", to_f32(env, r.patch_error));
  o.Set("channelError", to_f32(env, r.channel_error));
  o.Set("inferenceUs", Napi::Number::New(env, r.inference_us));
  return o;
}

RunQueue::~RunQueue() {
  // Only reachable with runs never started (environment teardown): they were not queued, so
  // AsyncWorker will not delete them.
  for (QueuedWorker* w : pending_) delete w;
}

void RunQueue::submit(QueuedWorker* w) {
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
  QueuedWorker* next = pending_.front();
  pending_.pop_front();
  next->Queue();
}

QueuedWorker::QueuedWorker(Napi::Env env, const char* name, std::shared_ptr<ModelState> state,
                           std::shared_ptr<RunQueue> queue)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      state_(std::move(state)),
      queue_(std::move(queue)) {}

void QueuedWorker::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  queue_->done();
  deferred_.Reject(coded_error(Env(), "ENGINE_INTERNAL", e.Message()).Value());
}

namespace {
// Catch-all: nothing may escape into libuv. The engine itself returns statuses; this guards
// std::bad_alloc from the result vectors and anything unforeseen.
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

RunWorker::RunWorker(Napi::Env env, std::shared_ptr<ModelState> state,
                     std::shared_ptr<RunQueue> queue, std::vector<float> input)
    : QueuedWorker(env, "vigil.run", std::move(state), std::move(queue)), input_(std::move(input)) {}

void RunWorker::Execute() {
  status_ = guarded([&] { return run_locked(*state_, input_.data(), input_.size(), &result_); });
}

void RunWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  queue_->done();  // start the next run first: settling may run user code synchronously
  if (!status_.ok()) {
    deferred_.Reject(status_error(env, status_).Value());
    return;
  }
  deferred_.Resolve(result_to_js(env, result_));
}

BatchWorker::BatchWorker(Napi::Env env, std::shared_ptr<ModelState> state,
                         std::shared_ptr<RunQueue> queue, std::vector<float> inputs, size_t count)
    : QueuedWorker(env, "vigil.runBatch", std::move(state), std::move(queue)),
      inputs_(std::move(inputs)),
      count_(count) {}

void BatchWorker::Execute() {
  status_ = guarded([&] {
    results_.resize(count_);
    const size_t len = count_ == 0 ? 0 : inputs_.size() / count_;
    std::lock_guard<std::mutex> lock(state_->mutex);  // once for the whole batch
    for (size_t i = 0; i < count_; ++i) {
      failed_index_ = i;  // the window in progress, should anything throw
      Status s = run_held(*state_, inputs_.data() + i * len, len, &results_[i]);
      if (!s.ok()) {
        return Status(s.code(), "failed to run batch input " + std::to_string(i) + " of " +
                                    std::to_string(count_) + ": " + s.message());
      }
    }
    return Status::Ok();
  });
}

void BatchWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  queue_->done();
  if (!status_.ok()) {
    Napi::Error e = status_error(env, status_);
    e.Set("index", Napi::Number::New(env, static_cast<double>(failed_index_)));
    deferred_.Reject(e.Value());
    return;
  }
  Napi::Array out = Napi::Array::New(env, count_);
  for (size_t i = 0; i < count_; ++i) out.Set(static_cast<uint32_t>(i), result_to_js(env, results_[i]));
  deferred_.Resolve(out);
}

}  // namespace vigil::binding
