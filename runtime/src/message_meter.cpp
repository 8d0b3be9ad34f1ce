#include "wiregen/detail/message_meter.hpp"

#include <algorithm>

namespace wiregen::detail {

namespace {

// What an observer throws must not reach the message path.
template <class Call>
void tell(Call&& call) noexcept {
  try {
    call();
  } catch (...) {
  }
}

}  // namespace

message_meter::message_meter(const protocol_info* table, message_sender peer,
                             std::shared_ptr<message_observer> observer)
    : table_(table), observer_(std::move(observer)) {
  if (table_ == nullptr) {
    messages_ = std::vector<message_counts>(1);
    return;
  }
  ids_on_wire_ = table_->ids_on_wire;
  for (const auto& message : table_->messages) {
    ids_.push_back(message.id);
  }
  messages_ = std::vector<message_counts>(ids_.size() + 1);
  calls_ = std::vector<call_counts>(table_->rpcs.size());
  // Without ids on the wire a received frame is the one type its peer
  // sends; a peer sending several names it inside (an envelope): unknown.
  received_row_ = ids_.size();
  const auto sent_by_peer = [&](const message_info& message) {
    return message.sender == peer || message.sender == message_sender::both;
  };
  if (std::count_if(table_->messages.begin(), table_->messages.end(), sent_by_peer) == 1) {
    received_row_ = static_cast<std::size_t>(
        std::find_if(table_->messages.begin(), table_->messages.end(), sent_by_peer) -
        table_->messages.begin());
  }
}

void message_meter::add_to(std::vector<message_metrics>& messages,
                           std::vector<call_metrics>& calls) const {
  if (table_ == nullptr) {
    return;  // nothing per type to tell
  }
  const auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  if (messages.empty()) {
    messages.resize(messages_.size());
    for (std::size_t row = 0; row < ids_.size(); ++row) {
      messages[row].message = table_->messages[row].full_name;
    }
    calls.resize(calls_.size());
    for (std::size_t rpc = 0; rpc < calls_.size(); ++rpc) {
      calls[rpc].rpc = table_->rpcs[rpc].name;
    }
  }
  for (std::size_t row = 0; row < messages_.size() && row < messages.size(); ++row) {
    auto& into = messages[row];
    into.frames_received += read(messages_[row].frames_received);
    into.bytes_received += read(messages_[row].bytes_received);
    into.frames_sent += read(messages_[row].frames_sent);
    into.bytes_sent += read(messages_[row].bytes_sent);
  }
  for (std::size_t rpc = 0; rpc < calls_.size() && rpc < calls.size(); ++rpc) {
    auto& into = calls[rpc];
    const auto& counts = calls_[rpc];
    for (std::size_t i = 0; i < into.outcomes.size(); ++i) {
      into.outcomes[i] += read(counts.outcomes[i]);
    }
    for (std::size_t i = 0; i < into.time_buckets.size(); ++i) {
      into.time_buckets[i] += read(counts.buckets[i]);
    }
    into.seconds += static_cast<double>(read(counts.nanoseconds)) / 1e9;
  }
}

std::size_t message_meter::rpc_of_request(std::uint32_t id) const noexcept {
  const auto row = row_of(id);
  for (std::size_t rpc = 0; rpc < calls_.size(); ++rpc) {
    if (row < ids_.size() && table_->rpcs[rpc].request == table_->messages[row].full_name) {
      return rpc;
    }
  }
  return calls_.size();
}

void message_meter::tell_received(std::uint64_t connection_id, std::size_t row, std::size_t size,
                                  const frame_meta& meta) noexcept {
  const frame_event event{connection_id, row < ids_.size() ? &table_->messages[row] : nullptr, size,
                          meta};
  tell([&] { observer_->on_frame_received(event); });
}

void message_meter::tell_sent(std::uint64_t connection_id, std::size_t row, std::size_t size,
                              const frame_meta& meta) noexcept {
  const frame_event event{connection_id, row < ids_.size() ? &table_->messages[row] : nullptr, size,
                          meta};
  tell([&] { observer_->on_frame_sent(event); });
}

void message_meter::call_begins(std::size_t rpc, call_event call) noexcept {
  if (observer_ && rpc < calls_.size()) {
    call.rpc = &table_->rpcs[rpc];
    tell([&] { observer_->on_call_begin(call); });
  }
}

void message_meter::call_ends(std::size_t rpc, call_event call,
                              std::chrono::nanoseconds time) noexcept {
  if (rpc >= calls_.size()) {
    return;
  }
  // Atomic adds: a client's calls may end on a caller's thread (a send
  // that failed) as well as on the loop's.
  auto& counts = calls_[rpc];
  counts.outcomes[static_cast<std::size_t>(call.outcome)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(time).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(handler_time_bounds.begin(), handler_time_bounds.end(), seconds) -
      handler_time_bounds.begin());
  counts.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  counts.nanoseconds.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, time.count())),
                               std::memory_order_relaxed);
  if (observer_) {
    call.rpc = &table_->rpcs[rpc];
    tell([&] { observer_->on_call_end(call); });
  }
}

}  // namespace wiregen::detail
