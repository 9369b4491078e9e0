#include "preload/hash_index.h"

namespace heapwatch {

bool HashIndex::Insert(uint64_t hash, uint32_t id) {
  if ((count_ + 1) * 2 > slots_.size() && !Grow()) return false;
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].id != 0) i = (i + 1) & mask;
  slots_[i] = {hash, id};
  ++count_;
  return true;
}

bool HashIndex::Grow() {
  PageVector<Slot> bigger;
  size_t capacity = slots_.empty() ? 256 : slots_.size() * 2;
  if (!bigger.Resize(capacity)) return false;
  size_t mask = capacity - 1;
  for (size_t j = 0; j < slots_.size(); ++j) {
    if (slots_[j].id == 0) continue;
    size_t i = slots_[j].hash & mask;
    while (bigger[i].id != 0) i = (i + 1) & mask;
    bigger[i] = slots_[j];
  }
  slots_.Swap(bigger);  // the old table is released with `bigger`
  return true;
}

namespace {

uint64_t FinalMix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

}  // namespace

uint64_t HashWords(const uint64_t* words, size_t count, uint64_t seed) {
  uint64_t h = seed ^ (count * 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i < count; ++i) {
    h = (h ^ words[i]) * 0x100000001b3ull;
    h = (h << 29) | (h >> 35);
  }
  return FinalMix(h);
}

uint64_t HashBytes(const void* data, size_t length, uint64_t seed) {
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (size_t i = 0; i < length; ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  return FinalMix(h);
}

}  // namespace heapwatch
