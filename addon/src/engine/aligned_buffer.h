// A 64-byte aligned, zero-initialized byte buffer: packed weights and the activation arena
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

  // Returns false when the allocation fails (the caller turns it into a status).
  bool allocate(size_t bytes) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) return true;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) return false;
    std::memset(p, 0, rounded);
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
