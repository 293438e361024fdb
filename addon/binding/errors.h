// Engine status -> JS Error with a stable string `code` (the only error shape the addon throws).
#pragma once

#include <napi.h>

#include <string>

#include "vigil/engine.h"

namespace vigil::binding {

// code: e.g. "ENGINE_INPUT_SHAPE"; message: the engine's "failed to ... with ...: ..." line.
Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error coded_type_error(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error status_error(Napi::Env env, const Status& status);

// "Expected <what> for <field> but received <value description>".
std::string describe(const Napi::Value& v);

}  // namespace vigil::binding
