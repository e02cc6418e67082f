#include "actors/live_counts.hpp"

namespace tether {

live_counts& live() {
  static live_counts counts;
  return counts;
}

}  // namespace tether
