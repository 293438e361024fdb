// The public Model API (vigil/engine.h): loading from a path or a buffer, boundary checks,
// and the calls that run the schedule.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "model_impl.h"
#include "ops.h"

namespace vigil {
namespace {
// A vigil-tst model is ~100 KB..10 MB; refuse to read anything absurd into memory.
constexpr long long kMaxFileBytes = 1ll << 30;
}  // namespace

Model::Model(std::unique_ptr<ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Status Model::load_buffer(const uint8_t* data, size_t size, const LoadOptions& options,
                          std::unique_ptr<Model>* out) {
  out->reset();
  std::unique_ptr<ModelImpl> impl;
  Status s;
  // No exception crosses the API: the loader's containers can only fail with bad_alloc.
  try {
    s = build_model(data, size, options, &impl);
  } catch (const std::bad_alloc&) {
    return make_error(StatusCode::kOutOfMemory, "load", "model", std::to_string(size) + " bytes",
                      "out of memory");
  } catch (const std::exception& e) {
    return make_error(StatusCode::kInternal, "load", "model", std::to_string(size) + " bytes", e.what());
  }
  if (!s.ok()) return s;
  out->reset(new Model(std::move(impl)));
  return Status::Ok();
}

namespace {

// Reads the whole file: the loader copies and packs what it keeps, so the bytes are needed
// only during load (no mapping outlives it).
Status read_all(std::FILE* fp, const std::string& path, std::vector<uint8_t>* bytes) {
  if (std::fseek(fp, 0, SEEK_END) != 0) {
    return make_error(StatusCode::kIo, "read", "model file", path, std::strerror(errno));
  }
  const long long len = std::ftell(fp);
  if (len < 0) return make_error(StatusCode::kIo, "read", "model file", path, "cannot tell its size");
  if (len > kMaxFileBytes) {
    return make_error(StatusCode::kModelFormat, "read", "model file",
                      path + " (" + std::to_string(len) + " bytes)", "larger than 1 GiB");
  }
  std::rewind(fp);
  try {
    bytes->resize(static_cast<size_t>(len));
  } catch (const std::bad_alloc&) {
    return make_error(StatusCode::kOutOfMemory, "read", "model file", path, "out of memory");
  }
  if (len > 0 && std::fread(bytes->data(), 1, bytes->size(), fp) != bytes->size()) {
    return make_error(StatusCode::kIo, "read", "model file", path, "short read");
  }
  return Status::Ok();
}

}  // namespace

Status Model::load_file(const std::string& path, const LoadOptions& options,
                        std::unique_ptr<Model>* out) {
  out->reset();
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (fp == nullptr) {
    return make_error(StatusCode::kIo, "open", "model file", path, std::strerror(errno));
  }
  std::vector<uint8_t> bytes;
  Status s = read_all(fp, path, &bytes);
  std::fclose(fp);
  if (!s.ok()) return s;
  s = load_buffer(bytes.data(), bytes.size(), options, out);
  if (!s.ok()) return Status(s.code(), s.message() + " (in " + path + ")");
  return s;
}

const ModelInfo& Model::info() const { return impl_->info; }

size_t Model::input_length() const {
  return static_cast<size_t>(impl_->info.hp.window_length) * impl_->info.hp.channel_count;
}

size_t Model::feature_length() const {
  return static_cast<size_t>(impl_->info.hp.feature_length) * impl_->info.hp.feature_channels;
}

Status check_input(const float* input, size_t length, size_t expected) {
  if (length != expected) {
    return make_error(StatusCode::kInputShape, "run", "input window",
                      std::to_string(length) + " values",
                      "expected windowLength * channelCount = " + std::to_string(expected));
  }
  if (input == nullptr && length != 0) {
    return make_error(StatusCode::kInvalidArgument, "run", "input window", "a null pointer",
                      "input must not be null");
  }
  if (ops::all_finite(input, length)) return Status::Ok();
  for (size_t j = 0; j < length; ++j) {
    if (!std::isfinite(input[j])) {
      char v[32];
      std::snprintf(v, sizeof v, "%g", static_cast<double>(input[j]));
      return make_error(StatusCode::kInputNonFinite, "run", "input window",
                        std::string(v) + " at index " + std::to_string(j),
                        "every value must be finite");
    }
  }
  return Status::Ok();
}

Status Model::run(const float* input, size_t length, const OutputBuffers& out) {
  Status s = check_input(input, length, input_length());
  if (!s.ok()) return s;
  if (out.probs == nullptr || out.embedding == nullptr ||
      (impl_->info.hp.has_reconstruction &&
       (out.patch_error == nullptr || out.channel_error == nullptr))) {
    return make_error(StatusCode::kInvalidArgument, "run", "output buffers", "a null buffer",
                      "every output of the model needs a buffer");
  }
  impl_->forward(input, out);
  return Status::Ok();
}

Status Model::features(const float* input, size_t length, float* out, size_t out_length) {
  Status s = check_input(input, length, input_length());
  if (!s.ok()) return s;
  if (out == nullptr || out_length != feature_length()) {
    return make_error(StatusCode::kInvalidArgument, "compute", "features",
                      std::to_string(out_length) + " output values",
                      "expected T' * C' = " + std::to_string(feature_length()));
  }
  impl_->forward_features(input);
  std::memcpy(out, impl_->buf.features, feature_length() * sizeof(float));
  return Status::Ok();
}

Status Model::set_calibration(bool enabled) {
  if (enabled && impl_->info.int8_linears > 0) {
    return make_error(StatusCode::kCalibrationUnsupported, "enable", "calibration",
                      std::to_string(impl_->info.int8_linears) + " int8 linears",
                      "calibration records fp32 activations: load the f32 model");
  }
  impl_->calibrating = enabled;
  return Status::Ok();
}

bool Model::calibration_enabled() const { return impl_->calibrating; }

CalibrationStats Model::calibration() const {
  CalibrationStats st;
  st.windows = impl_->calibration_windows;
  impl_->for_each_linear([&](const Linear& l) { st.input_abs_max.emplace_back(l.name, l.calib_abs_max); });
  return st;
}

void Model::reset_calibration() {
  impl_->calibration_windows = 0;
  impl_->for_each_linear([](Linear& l) { l.calib_abs_max = 0.0f; });
}

}  // namespace vigil
