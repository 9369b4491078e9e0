// A growable array of trivially copyable values in a mapping of its own,
// for the collector's tables: no malloc, and growth by mremap moves pages
// instead of copying them.
//
// Not thread safe. Pointers into it are invalidated by growth.

#ifndef HEAPWATCH_PRELOAD_PAGE_VECTOR_H_
#define HEAPWATCH_PRELOAD_PAGE_VECTOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "preload/internal_arena.h"

namespace heapwatch {

template <typename T>
class PageVector {
  static_assert(std::is_trivially_copyable_v<T>, "PageVector moves its pages, not its elements");

 public:
  PageVector() = default;
  PageVector(const PageVector&) = delete;
  PageVector& operator=(const PageVector&) = delete;
  ~PageVector() { Release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

  // False when out of memory (the vector is unchanged).
  bool PushBack(const T& value) {
    if (size_ == capacity_ && !Reserve(size_ + 1)) return false;
    data_[size_++] = value;
    return true;
  }

  bool Append(const T* values, size_t count) {
    if (size_ + count > capacity_ && !Reserve(size_ + count)) return false;
    std::memcpy(static_cast<void*>(data_ + size_), values, count * sizeof(T));
    size_ += count;
    return true;
  }

  // Grows (zero-filled) or shrinks to `count` elements.
  bool Resize(size_t count) {
    if (count > capacity_ && !Reserve(count)) return false;
    if (count > size_) std::memset(static_cast<void*>(data_ + size_), 0, (count - size_) * sizeof(T));
    size_ = count;
    return true;
  }

  void Clear() { size_ = 0; }

  void Swap(PageVector& other) {
    T* data = data_;
    size_t size = size_, capacity = capacity_;
    data_ = other.data_, size_ = other.size_, capacity_ = other.capacity_;
    other.data_ = data, other.size_ = size, other.capacity_ = capacity;
  }

  bool Reserve(size_t count) {
    if (count <= capacity_) return true;
    size_t capacity = capacity_ == 0 ? InitialCapacity() : capacity_;
    while (capacity < count) capacity *= 2;
    void* memory;
    if (data_ == nullptr) {
      memory = MapPages(capacity * sizeof(T));
      if (memory == nullptr) return false;
    } else {
      memory = mremap(data_, Bytes(capacity_), Bytes(capacity), MREMAP_MAYMOVE);
      if (memory == MAP_FAILED) return false;
    }
    data_ = static_cast<T*>(memory);
    capacity_ = capacity;
    return true;
  }

  size_t bytes_mapped() const { return data_ == nullptr ? 0 : Bytes(capacity_); }

  void Release() {
    if (data_ != nullptr) UnmapPages(data_, Bytes(capacity_));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  static constexpr size_t kPage = 4096;
  static size_t InitialCapacity() { return sizeof(T) >= kPage ? 1 : kPage / sizeof(T); }
  static size_t Bytes(size_t count) { return (count * sizeof(T) + kPage - 1) / kPage * kPage; }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_PAGE_VECTOR_H_
