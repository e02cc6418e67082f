#include "bench/loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace loadgen {

int histogram::index_of(std::uint64_t v) {
  if (v < static_cast<std::uint64_t>(sub_count)) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - sub_bits;  // keep the top sub_bits + 1 bits
  const int sub = static_cast<int>(v >> shift) - sub_count;
  return sub_count + shift * sub_count + sub;
}

std::uint64_t histogram::highest_in(int index) {
  if (index < sub_count) return static_cast<std::uint64_t>(index);
  const int shift = (index - sub_count) / sub_count;
  const std::uint64_t sub = static_cast<std::uint64_t>((index - sub_count) % sub_count + sub_count);
  return ((sub + 1) << shift) - 1;
}

void histogram::record(std::int64_t value) {
  if (value < 0) value = 0;  // a clock step cannot make a negative latency; count it as 0
  const auto v = static_cast<std::uint64_t>(value);
  ++counts_[static_cast<std::size_t>(index_of(v))];
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  ++count_;
  sum_ += v;
}

void histogram::merge(const histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

std::int64_t histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (int i = 0; i < bucket_count; ++i) {
    seen += counts_[static_cast<std::size_t>(i)];
    if (seen >= rank) return std::min<std::int64_t>(max_, static_cast<std::int64_t>(highest_in(i)));
  }
  return max_;
}

}  // namespace loadgen
