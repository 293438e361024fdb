// Status codes and the one error-message shape of the engine.
#include "vigil/engine.h"

namespace vigil {

const char* code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "ENGINE_INVALID_ARGUMENT";
    case StatusCode::kIo: return "MODEL_IO";
    case StatusCode::kModelFormat: return "MODEL_FORMAT";
    case StatusCode::kIsaUnavailable: return "ADDON_ISA_UNAVAILABLE";
    case StatusCode::kInputShape: return "ENGINE_INPUT_SHAPE";
    case StatusCode::kInputNonFinite: return "ENGINE_INPUT_NONFINITE";
    case StatusCode::kCalibrationUnsupported: return "ENGINE_CALIBRATION_UNSUPPORTED";
    case StatusCode::kOutOfMemory: return "ENGINE_OUT_OF_MEMORY";
    case StatusCode::kInternal: return "ENGINE_INTERNAL";
  }
  return "ENGINE_INTERNAL";
}

Status make_error(StatusCode code, const std::string& verb, const std::string& object,
                  const std::string& value, const std::string& constraint) {
  std::string m;
  m.reserve(32 + verb.size() + object.size() + value.size() + constraint.size());
  m += "failed to ";
  m += verb;
  m += ' ';
  m += object;
  m += " with ";
  m += value;
  m += ": ";
  m += constraint;
  return Status(code, std::move(m));
}

const char* engine_version() { return "0.1.0"; }

}  // namespace vigil
