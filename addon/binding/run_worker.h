// Async run() and runBatch(): the window(s) are copied on the JS thread, Execute() runs the
// engine on the libuv pool touching no JS value, OnOK/OnError settle the promise on the JS
// thread. runBatch() does its N engine runs in ONE pool work item, holding the model mutex once.
#pragma once

#include <napi.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "model_state.h"

namespace vigil::binding {

struct RunResult {
  std::vector<float> probs, embedding, patch_error, channel_error;
  double inference_us = 0.0;
};

// Allocates the result vectors for `model` (outputs sized from its info()).
void size_result(const Model& model, RunResult* r);
// Runs the engine; the caller holds state.mutex. Measures the engine time only.
Status run_held(ModelState& state, const float* input, size_t length, RunResult* r);
// Runs the engine with the model mutex held; measures the engine time only.
Status run_locked(ModelState& state, const float* input, size_t length, RunResult* r);
Napi::Object result_to_js(Napi::Env env, const RunResult& r);

// Most windows one runBatch() call takes (bounds the copy made on the JS thread).
constexpr size_t kMaxBatch = 1024;

class QueuedWorker;

// Per-model FIFO of async runs, touched on the JS thread only. At most one run per model is on
// the libuv pool at a time: the model is serialized anyway (one arena), and parking the others
// on the model mutex would tie up pool threads that fs, crypto and dns need.
class RunQueue {
 public:
  ~RunQueue();
  void submit(QueuedWorker* w);  // takes ownership until the worker is queued
  void done();                   // the running worker settled: start the next one

 private:
  std::deque<QueuedWorker*> pending_;
  bool busy_ = false;
};

// An async worker that waits its turn in a model's RunQueue and settles one promise.
class QueuedWorker : public Napi::AsyncWorker {
 public:
  QueuedWorker(Napi::Env env, const char* name, std::shared_ptr<ModelState> state,
               std::shared_ptr<RunQueue> queue);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelState> state_;
  std::shared_ptr<RunQueue> queue_;
  Status status_;
};

class RunWorker : public QueuedWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<ModelState> state, std::shared_ptr<RunQueue> queue,
            std::vector<float> input);

 protected:
  void Execute() override;
  void OnOK() override;

 private:
  std::vector<float> input_;
  RunResult result_;
};

// N windows of one model, copied back to back into `inputs` (count * input_length floats).
// Stops at the first failing window: the promise rejects with that window's code and a message
// naming its index; otherwise it resolves to one RunOutputs per window, in order.
class BatchWorker : public QueuedWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<ModelState> state, std::shared_ptr<RunQueue> queue,
              std::vector<float> inputs, size_t count);

 protected:
  void Execute() override;
  void OnOK() override;

 private:
  std::vector<float> inputs_;
  size_t count_;
  std::vector<RunResult> results_;
  size_t failed_index_ = 0;
};

}  // namespace vigil::binding
