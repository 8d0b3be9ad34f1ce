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

void message_meter::add_to(server_metrics& figures) const {
  if (table_ == nullptr) {
    return;  // nothing per type to tell
  }
  const auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  if (figures.messages.empty()) {
    figures.messages.resize(messages_.size());
    for (std::size_t row = 0; row < ids_.size(); ++row) {
      figures.messages[row].message = table_->messages[row].full_name;
    }
    figures.calls.resize(calls_.size());
    for (std::size_t rpc = 0; rpc < calls_.size(); ++rpc) {
      figures.calls[rpc].rpc = table_->rpcs[rpc].name;
    }
  }
  for (std::size_t row = 0; row < messages_.size() && row < figures.messages.size(); ++row) {
    auto& into = figures.messages[row];
    into.frames_received += read(messages_[row].frames_received);
    into.bytes_received += read(messages_[row].bytes_received);
    into.frames_sent += read(messages_[row].frames_sent);
    into.bytes_sent += read(messages_[row].bytes_sent);
  }
  for (std::size_t rpc = 0; rpc < calls_.size() && rpc < figures.calls.size(); ++rpc) {
    auto& into = figures.calls[rpc];
    const auto& counts = calls_[rpc];
    for (std::size_t i = 0; i < into.outcomes.size(); ++i) {
      into.outcomes[i] += read(counts.outcomes[i]);
    }
    for (std::size_t i = 0; i < into.handler_time_buckets.size(); ++i) {
      into.handler_time_buckets[i] += read(counts.buckets[i]);
    }
    into.handler_seconds += static_cast<double>(read(counts.handler_nanoseconds)) / 1e9;
  }
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

void message_meter::call_begins(std::uint64_t connection_id, std::size_t rpc,
                                const frame_meta& meta) noexcept {
  if (observer_ && rpc < calls_.size()) {
    call_event event;
    event.connection_id = connection_id;
    event.rpc = &table_->rpcs[rpc];
    event.meta = meta;
    tell([&] { observer_->on_call_begin(event); });
  }
}

void message_meter::call_ends(std::uint64_t connection_id, std::size_t rpc, const frame_meta& meta,
                              call_outcome outcome, std::int64_t status_code,
                              std::chrono::nanoseconds handler_time) noexcept {
  if (rpc >= calls_.size()) {
    return;
  }
  auto& counts = calls_[rpc];
  bump(counts.outcomes[static_cast<std::size_t>(outcome)], 1);
  const double seconds = std::chrono::duration<double>(handler_time).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(handler_time_bounds.begin(), handler_time_bounds.end(), seconds) -
      handler_time_bounds.begin());
  bump(counts.buckets[bucket], 1);
  bump(counts.handler_nanoseconds, static_cast<std::uint64_t>(handler_time.count()));
  if (observer_) {
    call_event event;
    event.connection_id = connection_id;
    event.rpc = &table_->rpcs[rpc];
    event.meta = meta;
    event.outcome = outcome;
    event.status_code = status_code;
    event.handler_time = handler_time;
    tell([&] { observer_->on_call_end(event); });
  }
}

}  // namespace wiregen::detail
