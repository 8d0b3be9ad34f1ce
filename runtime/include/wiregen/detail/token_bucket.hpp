#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace wiregen::detail {

/// A token bucket: `rate` tokens per second on average, at most `burst` at
/// once. The server's accept rate and a connection's message rate are both
/// one. The caller passes the time, so the bucket reads no clock itself and
/// tests drive it with any clock they like. Not thread-safe.
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  /// A bucket that starts full at `now`. A `burst` of 0 means one second's
  /// worth (and at least one token).
  token_bucket(double rate, std::size_t burst, clock::time_point now) noexcept
      : rate_(rate),
        burst_(burst > 0 ? static_cast<double>(burst) : std::max(1.0, rate)),
        tokens_(burst_),
        refilled_at_(now) {}

  /// Takes one token if there is one at `now`.
  bool try_take(clock::time_point now) noexcept {
    refill(now);
    if (tokens_ < 1) {
      return false;
    }
    tokens_ -= 1;
    return true;
  }

  /// How long after the last refill the next token is due; zero when one is
  /// there. Capped at an hour, so that a rate near zero cannot overflow a
  /// time point.
  clock::duration until_next() const noexcept {
    if (tokens_ >= 1) {
      return clock::duration::zero();
    }
    const double wait = std::clamp((1 - tokens_) / rate_, 0.0, 3600.0);
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(wait));
  }

  /// Fills the bucket again, as if it had been idle for a long time.
  void reset(clock::time_point now) noexcept {
    tokens_ = burst_;
    refilled_at_ = now;
  }

  /// Whether the bucket would be full at `now`: as good as new.
  bool is_full(clock::time_point now) const noexcept { return tokens_at(now) >= burst_; }

  double tokens() const noexcept { return tokens_; }
  double burst() const noexcept { return burst_; }

 private:
  double tokens_at(clock::time_point now) const noexcept {
    // A clock that went backwards (a test's, say) adds nothing.
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - refilled_at_).count());
    return std::min(burst_, tokens_ + elapsed * rate_);
  }
  void refill(clock::time_point now) noexcept {
    tokens_ = tokens_at(now);
    refilled_at_ = std::max(now, refilled_at_);
  }

  double rate_;
  double burst_;
  double tokens_;
  clock::time_point refilled_at_;
};

}  // namespace wiregen::detail
