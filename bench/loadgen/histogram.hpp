#pragma once
// A log-linear histogram in the style of HdrHistogram: 128 linear sub-buckets per power of two,
// so any recorded value is known to within 1/128 (< 0.8 %) from 1 ns up to 2^63 ns. Fixed size
// (~60 KB), no allocation while recording: each worker thread keeps its own and they are merged
// once at the end, so recording a delivery is one increment with no lock.
#include <array>
#include <cstdint>

namespace loadgen {

class histogram {
 public:
  static constexpr int sub_bits = 7;                  // 128 sub-buckets: 0.8 % resolution
  static constexpr int sub_count = 1 << sub_bits;
  static constexpr int bucket_count = sub_count + (64 - sub_bits) * sub_count;

  void record(std::int64_t value);
  void merge(const histogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t min() const { return count_ ? min_ : 0; }
  std::int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The highest value of the bucket holding the q-th quantile (q in 0..1), capped at max().
  std::int64_t quantile(double q) const;

 private:
  static int index_of(std::uint64_t v);
  static std::uint64_t highest_in(int index);

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  // Sums of nanosecond latencies stay far below 2^127 in any run; 128 bits avoid the question.
  unsigned __int128 sum_ = 0;
};

}  // namespace loadgen
