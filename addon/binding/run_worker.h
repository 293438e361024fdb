// Async run() and runBatch(): the window(s) are copied on the JS thread, Execute() runs the
// engine on the libuv pool touching no JS value, OnOK/OnError settle the promise on the JS
// thread. runBatch() does its N engine runs in ONE pool work item, holding the model mutex once.
//
// Outputs: one call's outputs live in ONE ArrayBuffer (probs | embedding | patchError |
// channelError, float32, back to back) and the four typed arrays are views on it; every call
// gets a fresh buffer, so outputs handed to JS are never written again. runSync() lets the
// engine write straight into that buffer; async runs write into the worker's own storage and
// copy it (a few hundred bytes) into the buffer on the JS thread.
#pragma once

#include <napi.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "model_state.h"

namespace vigil::binding {

// Where each output sits in one window's float block (offsets and lengths in floats).
struct OutputLayout {
  size_t probs = 0, embedding = 0, patch_error = 0, channel_error = 0;  // lengths
  size_t total() const { return probs + embedding + patch_error + channel_error; }
};
OutputLayout output_layout(const Model& model);

// The engine's output pointers into a block laid out by `layout` (null for empty outputs).
OutputBuffers output_buffers(const OutputLayout& layout, float* block);

// Runs the engine into `block` (layout.total() floats); the caller holds state.mutex.
// *inference_us receives the engine time only.
Status run_held(ModelState& state, const float* input, size_t length, float* block,
                double* inference_us);
// The same with the model mutex taken here.
Status run_locked(ModelState& state, const float* input, size_t length, float* block,
                  double* inference_us);

// The RunOutputs object of the output block at `byte_offset` in `buffer`: views, no copy.
Napi::Object result_to_js(Napi::Env env, const OutputLayout& layout, Napi::ArrayBuffer buffer,
                          size_t byte_offset, double inference_us);

// true when every value is finite; copies src to dst in the same pass.
// Branch-free (vectorizes); the engine's check_input() gives the message of a failure.
bool copy_finite(const float* src, size_t n, float* dst);

// Most windows one runBatch() call takes (bounds the copy made on the JS thread).
constexpr size_t kMaxBatch = 1024;

class RunWorker;

// Per-model FIFO of async runs, touched on the JS thread only. At most one run per model is on
// the libuv pool at a time: the model is serialized anyway (one arena), and parking the others
// on the model mutex would tie up pool threads that fs, crypto and dns need.
class RunQueue {
 public:
  ~RunQueue();
  void submit(RunWorker* w);  // takes ownership until the worker is queued
  void done();                   // the running worker settled: start the next one

 private:
  std::deque<RunWorker*> pending_;
  bool busy_ = false;
};

// N windows of one model (N = 1 for run(), 0..kMaxBatch for runBatch()). `storage` holds the windows back to back (count * length floats)
// followed by room for count output blocks (count * layout.total() floats): one allocation.
// Stops at the first failing window. batch = false (run()): resolves to one RunOutputs;
// batch = true (runBatch()): to an Array of them, in order, all views on one ArrayBuffer, and a
// failure names the window's index (message and `index`).
// It waits its turn in the model's RunQueue and settles one promise.
class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<ModelState> state, std::shared_ptr<RunQueue> queue,
            std::vector<float> storage, size_t count, size_t length, OutputLayout layout, bool batch);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelState> state_;
  std::shared_ptr<RunQueue> queue_;
  Status status_;
  std::vector<float> storage_;
  size_t count_;
  size_t length_;
  OutputLayout layout_;
  bool batch_;
  std::vector<double> inference_us_;
  size_t failed_index_ = 0;
};

}  // namespace vigil::binding
