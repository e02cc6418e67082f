#pragma once
// The seam going out: a complete, pre-framed WebSocket frame (header + payload), immutable
// and shared, so a broadcast encodes once and every member's write queue holds the same bytes.
#include <memory>
#include <string>

namespace tether {
using frame = std::shared_ptr<const std::string>;
}
