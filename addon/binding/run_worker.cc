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

RunWorker::RunWorker(Napi::Env env, std::shared_ptr<ModelState> state,
                     std::shared_ptr<RunQueue> queue, std::vector<float> input)
    : Napi::AsyncWorker(env, "vigil.run"),
      deferred_(Napi::Promise::Deferred::New(env)),
      state_(std::move(state)),
      queue_(std::move(queue)),
      input_(std::move(input)) {}

void RunWorker::Execute() {
  // Catch-all: nothing may escape into libuv. The engine itself returns statuses; this guards
  // std::bad_alloc from the result vectors and anything unforeseen.
  try {
    status_ = run_locked(*state_, input_.data(), input_.size(), &result_);
  } catch (const std::exception& e) {
    status_ = Status(StatusCode::kInternal, std::string("failed to run model with an exception: ") + e.what());
  } catch (...) {
    status_ = Status(StatusCode::kInternal, "failed to run model with an unknown exception: no detail");
  }
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

void RunWorker::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  queue_->done();
  deferred_.Reject(coded_error(Env(), "ENGINE_INTERNAL", e.Message()).Value());
}

}  // namespace vigil::binding
