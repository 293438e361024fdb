// What a JS Model and its in-flight async runs share. The engine Model has one arena and is
// not reentrant, so every call into it holds `mutex` (runSync/features against an async run).
// Async runs on one model are also queued in order per model (RunQueue, run_worker.h) so that
// only one of them occupies a libuv pool thread; distinct models run in parallel.
// Async workers hold their own shared_ptr, so dispose() or GC of the JS object never frees the
// engine under a running worker: the last holder frees it.
#pragma once

#include <memory>
#include <mutex>

#include "vigil/engine.h"

namespace vigil::binding {

struct ModelState {
  std::mutex mutex;
  std::unique_ptr<Model> model;  // set once at construction, never replaced
};

}  // namespace vigil::binding
