// GGUF v3 parser. Layout (little-endian):
//   u32 magic "GGUF", u32 version (3), u64 tensor_count, u64 kv_count,
//   kv_count x { string key, u32 type, value }, tensor_count x { string name, u32 n_dims,
//   u64 ne[n_dims], u32 type, u64 offset }, padding to general.alignment, tensor data.
// string = u64 length + bytes (no terminator). Every read goes through Cursor, which checks
// the remaining length first; sizes are checked for overflow before any multiplication.
#include "gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace vigil::gguf {
namespace {

Status format_error(const std::string& verb, const std::string& object, const std::string& value,
                    const std::string& constraint) {
  return make_error(StatusCode::kModelFormat, verb, object, value, constraint);
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  bool read_bytes(void* dst, size_t n) {
    if (n > remaining()) return false;
    if (n != 0) std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(uint64_t n) {
    if (n > remaining()) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // Little-endian host assumed (x86-64, aarch64, armv7 little-endian): checked in parse().
  template <typename T>
  bool read(T* v) { return read_bytes(v, sizeof(T)); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
    case ValueType::kU16: case ValueType::kI16: return 2;
    case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
    case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
    default: return 0;
  }
}

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kF64); }

Status read_string(Cursor& c, const std::string& what, std::string* out) {
  uint64_t len = 0;
  if (!c.read(&len)) {
    return format_error("read", what, "offset " + std::to_string(c.pos()),
                        "file ends inside the string length");
  }
  if (len > kMaxStringBytes) {
    return format_error("read", what, "length " + std::to_string(len),
                        "strings are limited to " + std::to_string(kMaxStringBytes) + " bytes");
  }
  if (len > c.remaining()) {
    return format_error("read", what, "length " + std::to_string(len),
                        "only " + std::to_string(c.remaining()) + " bytes remain in the file");
  }
  out->resize(static_cast<size_t>(len));
  c.read_bytes(out->data(), static_cast<size_t>(len));
  return Status::Ok();
}

Status read_scalar(Cursor& c, ValueType t, const std::string& key, Value* v) {
  bool ok = true;
  switch (t) {
    case ValueType::kU8: { uint8_t x = 0; ok = c.read(&x); v->u = x; v->i = x; v->f = x; break; }
    case ValueType::kI8: { int8_t x = 0; ok = c.read(&x); v->i = x; v->f = x; break; }
    case ValueType::kU16: { uint16_t x = 0; ok = c.read(&x); v->u = x; v->i = x; v->f = x; break; }
    case ValueType::kI16: { int16_t x = 0; ok = c.read(&x); v->i = x; v->f = x; break; }
    case ValueType::kU32: { uint32_t x = 0; ok = c.read(&x); v->u = x; v->i = x; v->f = x; break; }
    case ValueType::kI32: { int32_t x = 0; ok = c.read(&x); v->i = x; v->f = x; break; }
    case ValueType::kU64: { uint64_t x = 0; ok = c.read(&x); v->u = x; v->f = static_cast<double>(x); break; }
    case ValueType::kI64: { int64_t x = 0; ok = c.read(&x); v->i = x; v->f = static_cast<double>(x); break; }
    case ValueType::kF32: { float x = 0; ok = c.read(&x); v->f = x; break; }
    case ValueType::kF64: { double x = 0; ok = c.read(&x); v->f = x; break; }
    case ValueType::kBool: {
      uint8_t x = 0;
      ok = c.read(&x);
      if (ok && x > 1) {
        return format_error("read", "metadata " + key, "bool byte " + std::to_string(x),
                            "a bool must be 0 or 1");
      }
      v->u = x;
      break;
    }
    default:
      return Status(StatusCode::kInternal, "read_scalar called with a non-scalar type");
  }
  if (!ok) {
    return format_error("read", "metadata " + key, "offset " + std::to_string(c.pos()),
                        "file ends inside the value");
  }
  return Status::Ok();
}

Status read_value(Cursor& c, const std::string& key, Value* v) {
  uint32_t type = 0;
  if (!c.read(&type)) {
    return format_error("read", "metadata " + key, "offset " + std::to_string(c.pos()),
                        "file ends inside the value type");
  }
  if (!valid_value_type(type)) {
    return format_error("read", "metadata " + key, "value type " + std::to_string(type),
                        "GGUF value types are 0..12");
  }
  v->type = static_cast<ValueType>(type);
  if (v->type == ValueType::kString) return read_string(c, "metadata " + key, &v->str);
  if (v->type != ValueType::kArray) return read_scalar(c, v->type, key, v);

  uint32_t elem = 0;
  uint64_t count = 0;
  if (!c.read(&elem) || !c.read(&count)) {
    return format_error("read", "metadata " + key, "offset " + std::to_string(c.pos()),
                        "file ends inside the array header");
  }
  if (!valid_value_type(elem) || elem == static_cast<uint32_t>(ValueType::kArray)) {
    return format_error("read", "metadata " + key, "array element type " + std::to_string(elem),
                        "arrays hold scalars or strings (no nested arrays)");
  }
  if (count > kMaxArrayCount) {
    return format_error("read", "metadata " + key, "array count " + std::to_string(count),
                        "arrays are limited to " + std::to_string(kMaxArrayCount) + " elements");
  }
  v->array_type = static_cast<ValueType>(elem);
  v->array_count = count;
  if (v->array_type == ValueType::kString) {
    // Each string needs at least its 8-byte length: reject impossible counts before reserving.
    if (count > c.remaining() / 8) {
      return format_error("read", "metadata " + key, "array count " + std::to_string(count),
                          "only " + std::to_string(c.remaining()) + " bytes remain in the file");
    }
    v->strings.resize(static_cast<size_t>(count));
    for (uint64_t j = 0; j < count; ++j) {
      Status s = read_string(c, "metadata " + key + "[" + std::to_string(j) + "]",
                             &v->strings[static_cast<size_t>(j)]);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  const uint64_t bytes = count * scalar_size(v->array_type);  // count <= 2^20: no overflow
  if (!c.skip(bytes)) {
    return format_error("read", "metadata " + key, "array of " + std::to_string(count) + " " +
                            value_type_name(v->array_type),
                        "only " + std::to_string(c.remaining()) + " bytes remain in the file");
  }
  return Status::Ok();
}

std::string shape_string(const TensorInfo& t) {
  std::string s = "ne=[";
  for (uint32_t d = 0; d < t.n_dims; ++d) {
    if (d) s += ',';
    s += std::to_string(t.ne[d]);
  }
  return s + "]";
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "unknown";
}

const KeyValue* File::find(const std::string& key) const {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
  for (const TensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Status parse(const uint8_t* data, size_t size, File* out) {
  {
    const uint16_t probe = 1;
    uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    if (first != 1) {
      return make_error(StatusCode::kInternal, "parse", "gguf", "a big-endian host",
                        "the loader supports little-endian hosts only");
    }
  }
  if (data == nullptr && size != 0) {
    return make_error(StatusCode::kInvalidArgument, "parse", "gguf", "a null buffer",
                      "data must not be null");
  }
  *out = File();
  Cursor c(data, size);
  char magic[4] = {0, 0, 0, 0};
  if (!c.read_bytes(magic, 4)) {
    return format_error("read", "gguf header", std::to_string(size) + " bytes",
                        "the file is shorter than the 4-byte magic");
  }
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return format_error("read", "gguf header", "a bad magic", "a GGUF file starts with \"GGUF\"");
  }
  uint64_t tensor_count = 0, kv_count = 0;
  if (!c.read(&out->version) || !c.read(&tensor_count) || !c.read(&kv_count)) {
    return format_error("read", "gguf header", std::to_string(size) + " bytes",
                        "the file is shorter than the 24-byte header");
  }
  if (out->version != 3) {
    return format_error("read", "gguf header", "version " + std::to_string(out->version),
                        "only GGUF version 3 is supported");
  }
  if (tensor_count > kMaxTensors) {
    return format_error("read", "gguf header", "tensor count " + std::to_string(tensor_count),
                        "at most " + std::to_string(kMaxTensors) + " tensors");
  }
  if (kv_count > kMaxKeyValues) {
    return format_error("read", "gguf header", "metadata count " + std::to_string(kv_count),
                        "at most " + std::to_string(kMaxKeyValues) + " keys");
  }

  std::unordered_set<std::string> keys;
  out->kvs.reserve(static_cast<size_t>(kv_count));
  for (uint64_t j = 0; j < kv_count; ++j) {
    KeyValue kv;
    Status s = read_string(c, "metadata key #" + std::to_string(j), &kv.key);
    if (!s.ok()) return s;
    if (!keys.insert(kv.key).second) {
      return format_error("read", "metadata " + kv.key, "a second occurrence", "keys are unique");
    }
    s = read_value(c, kv.key, &kv.value);
    if (!s.ok()) return s;
    out->kvs.push_back(std::move(kv));
  }

  if (const KeyValue* al = out->find("general.alignment")) {
    if (al->value.type != ValueType::kU32) {
      return format_error("read", "metadata general.alignment",
                          std::string("type ") + value_type_name(al->value.type), "expected u32");
    }
    const uint64_t a = al->value.u;
    if (a < 1 || a > 65536 || (a & (a - 1)) != 0) {
      return format_error("read", "metadata general.alignment", std::to_string(a),
                          "expected a power of two in [1, 65536]");
    }
    out->alignment = static_cast<uint32_t>(a);
  }

  std::unordered_set<std::string> names;
  out->tensors.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t j = 0; j < tensor_count; ++j) {
    TensorInfo t;
    Status s = read_string(c, "tensor name #" + std::to_string(j), &t.name);
    if (!s.ok()) return s;
    if (!names.insert(t.name).second) {
      return format_error("read", "tensor " + t.name, "a second occurrence", "names are unique");
    }
    if (!c.read(&t.n_dims)) {
      return format_error("read", "tensor " + t.name, "offset " + std::to_string(c.pos()),
                          "file ends inside the tensor info");
    }
    if (t.n_dims < 1 || t.n_dims > kMaxDims) {
      return format_error("read", "tensor " + t.name, std::to_string(t.n_dims) + " dimensions",
                          "expected 1.." + std::to_string(kMaxDims));
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      if (!c.read(&t.ne[d])) {
        return format_error("read", "tensor " + t.name, "offset " + std::to_string(c.pos()),
                            "file ends inside the tensor shape");
      }
      if (t.ne[d] < 1 || t.ne[d] > kMaxTensorElements) {
        return format_error("read", "tensor " + t.name,
                            "ne[" + std::to_string(d) + "]=" + std::to_string(t.ne[d]),
                            "dimensions are 1.." + std::to_string(kMaxTensorElements));
      }
      elements *= t.ne[d];  // each factor <= 2^31 and checked after each step: no overflow
      if (elements > kMaxTensorElements) {
        return format_error("read", "tensor " + t.name, shape_string(t),
                            "at most " + std::to_string(kMaxTensorElements) + " elements");
      }
    }
    uint32_t type = 0;
    if (!c.read(&type) || !c.read(&t.offset)) {
      return format_error("read", "tensor " + t.name, "offset " + std::to_string(c.pos()),
                          "file ends inside the tensor info");
    }
    if (type != static_cast<uint32_t>(TensorType::kF32) &&
        type != static_cast<uint32_t>(TensorType::kI8)) {
      return format_error("read", "tensor " + t.name, "type " + std::to_string(type),
                          "vigil-tst uses F32 (0) and I8 (24) only");
    }
    t.type = static_cast<TensorType>(type);
    t.elements = elements;
    t.nbytes = elements * (t.type == TensorType::kF32 ? 4 : 1);
    if (t.offset % out->alignment != 0) {
      return format_error("read", "tensor " + t.name, "offset " + std::to_string(t.offset),
                          "offsets are multiples of the alignment " +
                              std::to_string(out->alignment));
    }
    out->tensors.push_back(std::move(t));
  }

  const uint64_t pos = c.pos();
  const uint64_t data_start = (pos + out->alignment - 1) / out->alignment * out->alignment;
  if (data_start > size && tensor_count > 0) {
    return format_error("read", "gguf data section", "start " + std::to_string(data_start),
                        "the file has only " + std::to_string(size) + " bytes");
  }
  const uint64_t data_size = data_start <= size ? size - data_start : 0;
  for (TensorInfo& t : out->tensors) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return format_error("read", "tensor " + t.name,
                          "offset " + std::to_string(t.offset) + " and " +
                              std::to_string(t.nbytes) + " bytes",
                          "the data section has only " + std::to_string(data_size) + " bytes");
    }
    t.data = data + data_start + t.offset;
  }
  // Overlapping tensors would mean a corrupt offset table: check pairwise on sorted ranges.
  std::vector<const TensorInfo*> sorted;
  sorted.reserve(out->tensors.size());
  for (const TensorInfo& t : out->tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t j = 1; j < sorted.size(); ++j) {
    if (sorted[j - 1]->offset + sorted[j - 1]->nbytes > sorted[j]->offset) {
      return format_error("read", "tensor " + sorted[j]->name,
                          "offset " + std::to_string(sorted[j]->offset),
                          "it overlaps tensor " + sorted[j - 1]->name);
    }
  }
  return Status::Ok();
}

}  // namespace vigil::gguf
