// The JS class `Model` (vigil_addon.d.ts): argument checks at the boundary, translation to the
// engine API, and the dispose/run lifetime rules (model_state.h).
#pragma once

#include <napi.h>

#include <memory>

#include "model_state.h"
#include "run_worker.h"

namespace vigil::binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value GetInfo(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunBatch(const Napi::CallbackInfo& info);
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value Features(const Napi::CallbackInfo& info);
  Napi::Value SetCalibration(const Napi::CallbackInfo& info);
  Napi::Value Calibration(const Napi::CallbackInfo& info);
  Napi::Value ResetCalibration(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // Throws ENGINE_DISPOSED (as a C++ Napi::Error) when disposed.
  ModelState& live(Napi::Env env, const char* what);

  std::shared_ptr<ModelState> state_;
  std::shared_ptr<RunQueue> queue_ = std::make_shared<RunQueue>();
  Napi::ObjectReference info_;
};

}  // namespace vigil::binding
