#include "errors.h"

namespace vigil::binding {

Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

Napi::Error coded_type_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

Napi::Error status_error(Napi::Env env, const Status& status) {
  return coded_error(env, code_name(status.code()), status.message());
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    const Napi::TypedArray t = v.As<Napi::TypedArray>();
    const char* kind = "TypedArray";
    switch (t.TypedArrayType()) {
      case napi_float32_array: kind = "Float32Array"; break;
      case napi_float64_array: kind = "Float64Array"; break;
      case napi_uint8_array: kind = "Uint8Array"; break;
      case napi_int8_array: kind = "Int8Array"; break;
      case napi_int32_array: kind = "Int32Array"; break;
      default: break;
    }
    return std::string(kind) + " of length " + std::to_string(t.ElementLength());
  }
  if (v.IsArray()) return "an Array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsString()) return "a string";
  if (v.IsNumber()) return "the number " + v.ToString().Utf8Value();
  if (v.IsBoolean()) return std::string("the boolean ") + (v.As<Napi::Boolean>().Value() ? "true" : "false");
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "a value of an unexpected type";
}

}  // namespace vigil::binding
