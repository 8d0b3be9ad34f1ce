#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "wiregen/frame_meta.hpp"
#include "wiregen/message_observer.hpp"
#include "wiregen/protocol_info.hpp"
#include "wiregen/server_metrics.hpp"

namespace wiregen::detail {

/// What one I/O thread's connections counted, per message type and per rpc,
/// and where their frames and calls are shown to a message_observer. A
/// server has one per I/O thread (in each connection_home), so the message
/// path writes only cache lines its own thread owns; metrics() adds them
/// up. Received frames are counted by the thread alone (a plain load and
/// store); sends may come from any thread, and a client's call may end on
/// a caller's thread (an atomic add).
class message_meter {
 public:
  /// `table` may be null (lines, raw bytes: nothing per type). `peer` is
  /// the side whose messages this side receives, which names a received
  /// frame when ids are not on the wire and that side sends one type.
  message_meter(const protocol_info* table, message_sender peer,
                std::shared_ptr<message_observer> observer);
  message_meter(const message_meter&) = delete;
  message_meter& operator=(const message_meter&) = delete;

  struct message_counts {
    std::atomic<std::uint64_t> frames_received{0};
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> frames_sent{0};
    std::atomic<std::uint64_t> bytes_sent{0};
  };
  struct call_counts {
    std::array<std::atomic<std::uint64_t>, 6> outcomes{};  // by call_outcome
    std::array<std::atomic<std::uint64_t>, handler_time_bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> nanoseconds{0};
  };

  const protocol_info* table() const noexcept { return table_; }
  message_observer* observer() const noexcept { return observer_.get(); }
  /// One per row of the table, then one for frames of no known type.
  const std::vector<message_counts>& messages() const noexcept { return messages_; }
  /// One per rpc of the table.
  const std::vector<call_counts>& calls() const noexcept { return calls_; }

  /// Adds what this meter counted to `messages` and `calls` (server_metrics'
  /// or client_metrics'; made on the first call). Any thread.
  void add_to(std::vector<message_metrics>& messages, std::vector<call_metrics>& calls) const;

  /// The rpc whose request is message `id`, or calls().size() for none.
  std::size_t rpc_of_request(std::uint32_t id) const noexcept;

  /// On the connection's thread, before the frame's handler runs.
  void received(std::uint64_t connection_id, std::uint32_t id, std::size_t size,
                const frame_meta& meta) noexcept {
    const auto row = ids_on_wire_ ? row_of(id) : received_row_;
    auto& counts = messages_[row];
    bump(counts.frames_received, 1);
    bump(counts.bytes_received, size);
    if (observer_) {
      tell_received(connection_id, row, size, meta);
    }
  }

  /// Any thread: a send accepted a frame of message `id`.
  void sent(std::uint64_t connection_id, std::uint32_t id, std::size_t size,
            const frame_meta& meta) noexcept {
    const auto row = row_of(id);
    auto& counts = messages_[row];
    counts.frames_sent.fetch_add(1, std::memory_order_relaxed);
    counts.bytes_sent.fetch_add(size, std::memory_order_relaxed);
    if (observer_) {
      tell_sent(connection_id, row, size, meta);
    }
  }

  /// A call of rpc `rpc` of the table begins (`call`'s rpc is set here).
  void call_begins(std::size_t rpc, call_event call) noexcept;
  /// It ended as `call` says, taking `time` (a server's handler time, a
  /// client's latency), which goes into the histogram. Any thread.
  void call_ends(std::size_t rpc, call_event call, std::chrono::nanoseconds time) noexcept;

 private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  std::size_t row_of(std::uint32_t id) const noexcept {
    std::size_t row = 0;
    for (const auto id_of_row : ids_) {
      if (id_of_row == id) {
        return row;
      }
      ++row;
    }
    return row;  // the last one: no known type
  }
  void tell_received(std::uint64_t connection_id, std::size_t row, std::size_t size,
                     const frame_meta& meta) noexcept;
  void tell_sent(std::uint64_t connection_id, std::size_t row, std::size_t size,
                 const frame_meta& meta) noexcept;

  const protocol_info* table_;
  std::shared_ptr<message_observer> observer_;
  bool ids_on_wire_ = false;
  std::size_t received_row_ = 0;
  std::vector<std::uint32_t> ids_;
  std::vector<message_counts> messages_;
  std::vector<call_counts> calls_;
};

}  // namespace wiregen::detail
