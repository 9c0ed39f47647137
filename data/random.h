// Counter-based random numbers: every draw is a pure function of (seed, stream ids), so
// sampling and augmentation need no saved RNG state and resume exactly at any step.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace dunet::data {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small generator seeded from a list of ids (seed, epoch, sample, ...).
class KeyedRandom {
 public:
  KeyedRandom(std::initializer_list<uint64_t> keys) {
    for (const uint64_t k : keys) state_ = splitmix64(state_ ^ k);
  }
  uint64_t next() { return splitmix64(state_++); }
  // Uniform in [0, n); the modulo bias is below 2^-40 for the n used here.
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  // Uniform in [0, 1), from the top 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // True with probability p.
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_ = 0x5eed5eed5eed5eedULL;
};

}  // namespace dunet::data
