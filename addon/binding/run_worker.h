// Async run(): the window is copied on the JS thread, Execute() runs the engine on the libuv
// pool touching no JS value, OnOK/OnError settle the promise on the JS thread.
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
// Runs the engine with the model mutex held; measures the engine time only.
Status run_locked(ModelState& state, const float* input, size_t length, RunResult* r);
Napi::Object result_to_js(Napi::Env env, const RunResult& r);

class RunWorker;

// Per-model FIFO of async runs, touched on the JS thread only. At most one run per model is on
// the libuv pool at a time: the model is serialized anyway (one arena), and parking the others
// on the model mutex would tie up pool threads that fs, crypto and dns need.
class RunQueue {
 public:
  ~RunQueue();
  void submit(RunWorker* w);  // takes ownership until the worker is queued
  void done();                // the running worker settled: start the next one

 private:
  std::deque<RunWorker*> pending_;
  bool busy_ = false;
};

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<ModelState> state, std::shared_ptr<RunQueue> queue,
            std::vector<float> input);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelState> state_;
  std::shared_ptr<RunQueue> queue_;
  std::vector<float> input_;
  RunResult result_;
  Status status_;
};

}  // namespace vigil::binding
