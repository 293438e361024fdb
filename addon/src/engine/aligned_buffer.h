// A 64-byte aligned byte buffer, zero-initialized unless asked not to: packed weights and the activation arena
// (64 B = one cache line = one zmm load, what every kernel table may assume).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace vigil {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }

  // Returns false when the allocation fails (the caller turns it into a status). zero = false
  // leaves the first `bytes` uninitialized (the caller writes all of them); the rounding tail
  // is zeroed either way.
  bool allocate(size_t bytes, bool zero = true) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) return true;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) return false;
    if (zero) {
      std::memset(p, 0, rounded);
    } else {
      std::memset(static_cast<unsigned char*>(p) + bytes, 0, rounded - bytes);
    }
    data_ = static_cast<unsigned char*>(p);
    size_ = rounded;
    return true;
  }

  unsigned char* data() { return data_; }
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  T* as() { return reinterpret_cast<T*>(data_); }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data_); }

 private:
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vigil
