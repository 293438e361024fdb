// A small persistent pool for `threads` > 1 (large models only; tiny models run on the calling
// thread). Workers sleep on a condition variable between calls, so an idle model costs no CPU.
// parallel_for() runs task(ctx, i) for i in [0, n) on the workers and the calling thread and
// returns when all are done; it allocates nothing. One caller at a time (the model is already
// serialized by its owner, see vigil/engine.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace vigil {

class ThreadPool {
 public:
  using Task = void (*)(void* ctx, size_t index);

  explicit ThreadPool(size_t workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t threads() const { return workers_.size() + 1; }
  void parallel_for(size_t n, Task task, void* ctx);

  template <typename F>
  void parallel_for(size_t n, F& fn) {
    parallel_for(n, [](void* c, size_t i) { (*static_cast<F*>(c))(i); }, &fn);
  }

 private:
  void worker_loop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;  // guarded by mutex_
  bool stop_ = false;        // guarded by mutex_
  size_t active_ = 0;        // workers still inside the current generation, guarded by mutex_
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace vigil
