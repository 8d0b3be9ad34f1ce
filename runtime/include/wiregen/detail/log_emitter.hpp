#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "wiregen/detail/small_mutex.hpp"
#include "wiregen/detail/token_bucket.hpp"
#include "wiregen/log.hpp"

namespace wiregen::detail {

/// Every kind of record the runtime writes; docs/operations.md describes
/// each, with its level.
enum class log_event : std::uint8_t {
  listening,
  listen_failed,
  server_state,
  accept_failed,
  listener_closed,
  refused,
  connection_opened,
  connection_closed,
  frame_error,
  handler_failed,
  connected,
  dial_failed,
  redial,
};
inline constexpr std::size_t log_event_count = static_cast<std::size_t>(log_event::redial) + 1;

/// The event's name in records ("connection_closed").
std::string_view name_of(log_event event) noexcept;

/// A logger as a server or a client uses it: each kind of event passes a
/// token bucket of its own (100 records a second, bursts of 200), so that
/// a peer repeating what it does (connecting, sending bad frames) cannot
/// flood the log; what was dropped is counted into the next record of that
/// kind written. Thread-safe.
class log_emitter {
 public:
  static constexpr double records_per_second = 100;
  static constexpr std::size_t burst = 200;

  /// Null for no logger: make() returns null, and callers test the pointer.
  static std::shared_ptr<log_emitter> make(std::shared_ptr<logger> sink);
  explicit log_emitter(std::shared_ptr<logger> sink);

  /// Whether a record of `level` would be written: call it before
  /// formatting anything.
  bool wants(log_level level) const noexcept { return sink_->enabled(level); }

  /// Takes a token from `event`'s budget, before anything is formatted:
  /// false when the event is over its rate (the record is counted as
  /// suppressed); true, with how many were suppressed since the last one.
  bool admit(log_event event, std::uint64_t& suppressed) noexcept;
  /// Writes `record` as `event`: after admit() said yes.
  void write(log_event event, log_record& record) noexcept;
  /// Both: writes `record` as `event`, unless that event is over its rate.
  void emit(log_event event, log_record& record) noexcept;

 private:
  struct budget {
    small_mutex mutex;
    std::optional<token_bucket> bucket;
    std::uint64_t suppressed = 0;
  };

  std::shared_ptr<logger> sink_;
  std::array<budget, log_event_count> budgets_;
};

}  // namespace wiregen::detail
