// vigil_addon.node: module registration, engineInfo(), sdNotify(), version.
// Translation only: the engine (vigil/engine.h) and kernels know nothing about Node.
#include <napi.h>

#include <cstdlib>
#include <string>

#include "errors.h"
#include "kernels/dispatch.h"
#include "model_wrap.h"
#include "sd_notify.h"

namespace vigil::binding {
namespace {

Napi::Array table_names(Napi::Env env, const std::vector<const kernels::KernelTable*>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t j = 0; j < v.size(); ++j) a.Set(static_cast<uint32_t>(j), Napi::String::New(env, v[j]->name));
  return a;
}

Napi::Value EngineInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const kernels::CpuFeatures& f = kernels::cpu_features();
  Napi::Object feat = Napi::Object::New(env);
  feat.Set("sse4_1", f.sse41);
  feat.Set("avx2", f.avx2);
  feat.Set("fma", f.fma);
  feat.Set("avx512f", f.avx512f);
  feat.Set("avx512bw", f.avx512bw);
  feat.Set("avx512vl", f.avx512vl);
  feat.Set("avx512_vnni", f.avx512_vnni);
  feat.Set("avx_vnni", f.avx_vnni);
  feat.Set("os_avx", f.os_avx);
  feat.Set("os_avx512", f.os_avx512);
  feat.Set("neon", f.neon);
  feat.Set("asimddp", f.asimddp);

  // The same rule as Model loading: $VIGIL_ISA forces a path, an unavailable one is an error.
  const char* forced = std::getenv("VIGIL_ISA");
  std::string error;
  const kernels::KernelTable* selected =
      kernels::select_kernels(forced != nullptr && forced[0] != '\0' ? forced : nullptr, &error);
  if (selected == nullptr) {
    throw coded_error(env, "ADDON_ISA_UNAVAILABLE",
                      std::string("failed to select kernel path with VIGIL_ISA=") + (forced ? forced : "") +
                          ": " + error);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpuFeatures", feat);
  o.Set("compiled", table_names(env, kernels::compiled_kernels()));
  o.Set("available", table_names(env, kernels::available_kernels()));
  o.Set("selected", selected->name);
  o.Set("arch", f.arch);
  o.Set("version", engine_version());
  return o;
}

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || info[0].As<Napi::String>().Utf8Value().empty()) {
    throw coded_type_error(env, "ADDON_INVALID_ARGUMENT",
                           "failed to notify systemd with state " + describe(info[0]) +
                               ": expected a non-empty string such as \"READY=1\"");
  }
  const std::string state = info[0].As<Napi::String>().Utf8Value();
  std::string error;
  switch (sd_notify_send(std::getenv("NOTIFY_SOCKET"), state, &error)) {
    case NotifyResult::kSent: return Napi::Boolean::New(env, true);
    case NotifyResult::kNoSocket: return Napi::Boolean::New(env, false);
    case NotifyResult::kError: break;
  }
  throw coded_error(env, "ADDON_NOTIFY", error);
}

}  // namespace
}  // namespace vigil::binding

namespace {
Napi::Object InitVigil(Napi::Env env, Napi::Object exports) {
  using namespace vigil::binding;
  exports.Set("Model", ModelWrap::Define(env));
  exports.Set("engineInfo", Napi::Function::New(env, EngineInfo, "engineInfo"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("version", Napi::String::New(env, vigil::engine_version()));
  return exports;
}
}  // namespace

NODE_API_MODULE(vigil_addon, InitVigil)
