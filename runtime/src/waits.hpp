#pragma once

#include <algorithm>
#include <chrono>

namespace wiregen::detail {

/// Waits longer than this are as good as forever, and cannot overflow a
/// clock's time_point when added to now().
inline std::chrono::milliseconds clamp_wait(std::chrono::milliseconds wait) noexcept {
  return std::min<std::chrono::milliseconds>(wait, std::chrono::hours(24 * 365));
}

}  // namespace wiregen::detail
