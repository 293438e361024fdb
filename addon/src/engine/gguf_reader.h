// GGUF v3 container parser: bounds-checked, never trusts a count, length or offset before
// checking it against the bytes that are actually there. Knows nothing about vigil-tst; the
// model loader (model_loader.cc) interprets keys and tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vigil/engine.h"

namespace vigil::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

enum class TensorType : uint32_t { kF32 = 0, kI8 = 24 };

// Caps: a vigil-tst file has ~100 keys/tensors; these bound memory on hostile input.
constexpr uint64_t kMaxKeyValues = 4096;
constexpr uint64_t kMaxTensors = 4096;
constexpr uint64_t kMaxStringBytes = 1u << 20;
constexpr uint64_t kMaxArrayCount = 1u << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxTensorElements = uint64_t{1} << 31;

struct Value {
  ValueType type = ValueType::kU8;
  uint64_t u = 0;       // unsigned ints and bool
  int64_t i = 0;        // signed ints
  double f = 0.0;       // f32 / f64
  std::string str;      // string
  ValueType array_type = ValueType::kU8;  // array
  uint64_t array_count = 0;
  std::vector<std::string> strings;  // string arrays only (numeric arrays are skipped)
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  uint64_t ne[kMaxDims] = {1, 1, 1, 1};
  TensorType type = TensorType::kF32;
  uint64_t offset = 0;   // relative to the data section
  uint64_t elements = 0;
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the parsed buffer (alignment of the buffer unknown)
};

struct File {
  uint32_t version = 0;
  uint32_t alignment = 32;
  std::vector<KeyValue> kvs;
  std::vector<TensorInfo> tensors;

  const KeyValue* find(const std::string& key) const;
  const TensorInfo* find_tensor(const std::string& name) const;
};

const char* value_type_name(ValueType t);

// Parses and validates the container. On success *out references data (not copied).
Status parse(const uint8_t* data, size_t size, File* out);

}  // namespace vigil::gguf
