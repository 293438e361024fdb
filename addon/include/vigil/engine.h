// vigil engine: the public C++ API of the native int8 Transformer engine ("vigil-tst" models).
//
// The engine knows nothing about Node: addon/binding/ translates between this API and JS.
// Every fallible call returns a Status (no exceptions cross this API). Messages have one shape:
//   "failed to <verb> <object> with <value>: <constraint>"
//
// Model contract: docs/model-format.md (front end §1, network §2, GGUF layout §4).
//
// Threading: a Model owns ONE arena (all activations, allocated at load) and is therefore not
// reentrant. Concurrent run()/features() calls on one Model must be serialized by the caller
// (the Node binding holds a per-model mutex). Distinct Models are independent. info() and the
// const accessors are safe from any thread once load returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

// Stable codes; code_name() gives the string the binding exposes as Error.code.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,         // ENGINE_INVALID_ARGUMENT: a bad option or call argument
  kIo,                      // MODEL_IO: the file could not be opened or read
  kModelFormat,             // MODEL_FORMAT: the bytes are not a valid vigil-tst GGUF
  kIsaUnavailable,          // ADDON_ISA_UNAVAILABLE: a forced kernel path is not available
  kInputShape,              // ENGINE_INPUT_SHAPE: input length != windowLength * channelCount
  kInputNonFinite,          // ENGINE_INPUT_NONFINITE: NaN or +-Inf in the input
  kCalibrationUnsupported,  // ENGINE_CALIBRATION_UNSUPPORTED: calibration on an int8 model
  kOutOfMemory,             // ENGINE_OUT_OF_MEMORY
  kInternal,                // ENGINE_INTERNAL: a bug; never expected
};

const char* code_name(StatusCode code);

class Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Builds "failed to <verb> <object> with <value>: <constraint>".
Status make_error(StatusCode code, const std::string& verb, const std::string& object,
                  const std::string& value, const std::string& constraint);

enum class Frontend : int { kNone = 0, kSpectral = 1 };

struct Hyperparameters {
  uint32_t window_length = 0;    // T (raw samples per window)
  uint32_t channel_count = 0;    // C (raw channels)
  float sample_rate_hz = 0.0f;   // fs
  Frontend frontend = Frontend::kNone;
  uint32_t frontend_bins = 0;    // B (0 without the spectral front end)
  float band_low_hz = 0.0f;      // envelope band (spectral only, else 0)
  float band_high_hz = 0.0f;
  uint32_t feature_length = 0;   // T' (= T, or B)
  uint32_t feature_channels = 0; // C' (= C, or 3C)
  uint32_t patch_length = 0;     // P
  uint32_t tokens = 0;           // N = T' / P
  uint32_t embedding_length = 0; // d
  uint32_t block_count = 0;      // L
  uint32_t head_count = 0;       // H
  uint32_t feed_forward_length = 0;  // F
  float layer_norm_epsilon = 1e-5f;
  uint32_t class_count = 0;      // K (= labels.size())
  bool has_reconstruction = false;
};

// A scalar metadata value kept for display (arrays are not kept here).
struct MetadataValue {
  enum class Kind { kString, kNumber, kBool } kind = Kind::kString;
  std::string str;
  double number = 0.0;
  bool boolean = false;
};

struct ModelInfo {
  std::string architecture;  // always "vigil-tst"
  std::string name;
  std::string version;
  std::string quantization;  // "f32" or "q8_static" (as the file says)
  Hyperparameters hp;
  std::vector<std::string> labels;         // K
  std::vector<std::string> channel_names;  // C
  std::vector<std::pair<std::string, MetadataValue>> metadata;  // file order
  std::string isa;            // kernel table name used for the I8 linears
  size_t memory_bytes = 0;    // packed/owned weights + arena
  size_t int8_linears = 0;    // how many linears run in int8
  size_t f32_linears = 0;
  std::string attention = "f32";  // what runs: "f32" or "int8" (LoadOptions::attention)
};

struct LoadOptions {
  // Kernel path ("scalar", "avx2", ...). Empty: $VIGIL_ISA when set, else the best available.
  // A forced path that is not available is an error (kIsaUnavailable), never a fallback.
  std::string isa;
  // Worker threads. Accepted range 1..64; execution is currently single-threaded (docs/engine.md).
  int threads = 1;
  // Attention arithmetic: "f32" (float QK^T, softmax and PV: the model-format reference),
  // "int8" (QK^T with int16 Q and K below 128 tokens, int8 values from there, PV on the int8
  // GEMM, dynamic scales, probabilities as u8; applies to models with at least one int8 linear;
  // heads wider than 512 are kInvalidArgument; docs/engine.md "int8 attention") or "auto" (int8
  // on such models from 64 tokens with heads of at most 512, where it measured faster, else
  // f32). Empty: $VIGIL_ATTENTION when set, else "auto". Anything else is kInvalidArgument.
  // ModelInfo::attention says which ran.
  std::string attention;
};

// Caller-owned output buffers, sized from info(): probs[K], embedding[d], and (only when the
// model has reconstruction; may be null otherwise) patch_error[N], channel_error[C'].
struct OutputBuffers {
  float* probs = nullptr;
  float* embedding = nullptr;
  float* patch_error = nullptr;
  float* channel_error = nullptr;
};

struct CalibrationStats {
  std::vector<std::pair<std::string, float>> input_abs_max;  // per linear, schedule order
  uint64_t windows = 0;
};

class ModelImpl;

class Model {
 public:
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Load a GGUF v3 file / buffer. Every byte is validated before it is trusted; on any error
  // *out stays null and the status says what and where. The buffer is not retained.
  static Status load_file(const std::string& path, const LoadOptions& options,
                          std::unique_ptr<Model>* out);
  static Status load_buffer(const uint8_t* data, size_t size, const LoadOptions& options,
                            std::unique_ptr<Model>* out);

  const ModelInfo& info() const;
  size_t input_length() const;    // T * C
  size_t feature_length() const;  // T' * C'

  // One forward pass of a raw window (T*C floats, time-major). Checks the length and rejects
  // NaN/Inf. No allocation. Not reentrant (see the threading note above).
  Status run(const float* input, size_t length, const OutputBuffers& out);

  // Front-end features only: out receives T'*C' floats.
  Status features(const float* input, size_t length, float* out, size_t out_length);

  // Calibration (models whose linears are all F32): records max |input| of each linear during
  // run(). Enabling it on a model with an I8 linear returns kCalibrationUnsupported.
  Status set_calibration(bool enabled);
  bool calibration_enabled() const;
  CalibrationStats calibration() const;
  void reset_calibration();

 private:
  explicit Model(std::unique_ptr<ModelImpl> impl);
  std::unique_ptr<ModelImpl> impl_;
};

// Checks a raw input window at the boundary: length and finiteness.
Status check_input(const float* input, size_t length, size_t expected);

const char* engine_version();

}  // namespace vigil
