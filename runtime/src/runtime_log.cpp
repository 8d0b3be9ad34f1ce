#include "runtime_log.hpp"

#include <array>
#include <charconv>
#include <mutex>
#include <string>

#include "peer_identity.hpp"
#include "wiregen/connection.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_error.hpp"
#include "wiregen/protocol_info.hpp"

namespace wiregen {

namespace detail {

std::string_view name_of(log_event event) noexcept {
  switch (event) {
    case log_event::listening:
      return "listening";
    case log_event::listen_failed:
      return "listen_failed";
    case log_event::server_state:
      return "server_state";
    case log_event::accept_failed:
      return "accept_failed";
    case log_event::listener_closed:
      return "listener_closed";
    case log_event::refused:
      return "refused";
    case log_event::connection_opened:
      return "connection_opened";
    case log_event::connection_closed:
      return "connection_closed";
    case log_event::frame_error:
      return "frame_error";
    case log_event::handler_failed:
      return "handler_failed";
    case log_event::connected:
      return "connected";
    case log_event::dial_failed:
      return "dial_failed";
    case log_event::redial:
      return "redial";
  }
  return "unknown";
}

std::shared_ptr<log_emitter> log_emitter::make(std::shared_ptr<logger> sink) {
  return sink ? std::make_shared<log_emitter>(std::move(sink)) : nullptr;
}

log_emitter::log_emitter(std::shared_ptr<logger> sink) : sink_(std::move(sink)) {}

bool log_emitter::admit(log_event event, std::uint64_t& suppressed) noexcept {
  auto& budget = budgets_[static_cast<std::size_t>(event)];
  std::lock_guard lock(budget.mutex);
  const auto now = token_bucket::clock::now();
  if (!budget.bucket) {
    budget.bucket.emplace(records_per_second, burst, now);
  }
  if (!budget.bucket->try_take(now)) {
    ++budget.suppressed;
    return false;
  }
  suppressed = std::exchange(budget.suppressed, 0);
  return true;
}

void log_emitter::write(log_event event, log_record& record) noexcept {
  record.event = name_of(event);
  sink_->write(record);
}

void log_emitter::emit(log_event event, log_record& record) noexcept {
  if (admit(event, record.suppressed)) {
    write(event, record);
  }
}

}  // namespace detail

namespace {

/// Up to eight free fields whose numbers are written into the list itself:
/// a record costs no allocation beyond what its text needs.
class field_list {
 public:
  void add(std::string_view name, std::uint64_t value) {
    if (size_ == fields_.size()) {
      return;
    }
    auto& digits = numbers_[size_];
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    add(name, std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
  }
  void add(std::string_view name, std::string_view value) {
    if (size_ < fields_.size()) {
      fields_[size_++] = {name, value};
    }
  }
  std::span<const log_field> span() const { return {fields_.data(), size_}; }

 private:
  std::array<log_field, 8> fields_{};
  std::array<std::array<char, 24>, 8> numbers_{};
  std::size_t size_ = 0;
};

bool writes(detail::log_emitter* to, log_level level) {
  return to != nullptr && to->wants(level);
}

std::string tagged(const asio::ip::tcp::endpoint& remote) {
  return detail::format_endpoint(remote) + "(tcp)";
}

std::string_view state_name(server_state state) {
  switch (state) {
    case server_state::idle:
      return "idle";
    case server_state::running:
      return "running";
    case server_state::draining:
      return "draining";
    case server_state::stopped:
      return "stopped";
  }
  return "unknown";
}

// Closes this side asked for, and peers that hung up, are routine; limits
// and timeouts are worth an operator's notice; closes that lose data are
// warnings.
log_level close_level(std::error_code reason) {
  if (!reason || reason == asio::error::eof || reason == asio::error::connection_reset) {
    return log_level::debug;
  }
  if (reason == error::overloaded || reason == error::stop_timeout ||
      reason == error::handler_failed) {
    return log_level::warning;
  }
  return log_level::info;
}

std::string_view message_name(const stream_dispatcher& dispatcher, std::uint64_t id) {
  if (const auto* info = dispatcher.message_table()) {
    for (const auto& message : info->messages) {
      if (message.id == id) {
        return message.full_name;
      }
    }
  }
  return {};
}

}  // namespace

namespace detail::log {

void listening(log_emitter* to, const socket_address& address) noexcept {
  try {
    if (!writes(to, log_level::info)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::listening, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto name = address.to_string();
    log_record record;
    record.level = log_level::info;
    record.address = name;
    record.suppressed = suppressed;
    to->write(log_event::listening, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void listen_failed(log_emitter* to, const socket_address& address, std::error_code ec) noexcept {
  try {
    if (!writes(to, log_level::error)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::listen_failed, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto name = address.to_string();
    log_record record;
    record.level = log_level::error;
    record.address = name;
    record.error = ec;
    record.suppressed = suppressed;
    to->write(log_event::listen_failed, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void server_changed(log_emitter* to, server_state state, const server_counts& counts) noexcept {
  try {
    // A stop that had to force connections is worth a warning.
    const auto level =
        state == server_state::stopped && counts.forced > 0 ? log_level::warning : log_level::info;
    if (!writes(to, level)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::server_state, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    field_list fields;
    fields.add("state", state_name(state));
    fields.add("listeners", counts.listeners);
    fields.add("open", counts.open_connections);
    fields.add("accepted", counts.accepted);
    if (state == server_state::stopped) {
      fields.add("forced", counts.forced);
    }
    log_record record;
    record.level = level;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(log_event::server_state, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void accept_failed(log_emitter* to, std::error_code ec,
                   std::chrono::milliseconds backoff) noexcept {
  try {
    if (!writes(to, log_level::warning)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::accept_failed, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    field_list fields;
    fields.add("retry_ms", static_cast<std::uint64_t>(backoff.count()));
    log_record record;
    record.level = log_level::warning;
    record.error = ec;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(log_event::accept_failed, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void listener_closed(log_emitter* to, std::error_code ec) noexcept {
  try {
    if (!writes(to, log_level::error)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::listener_closed, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    log_record record;
    record.level = log_level::error;
    record.error = ec;
    record.suppressed = suppressed;
    to->write(log_event::listener_closed, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void refused(log_emitter* to, const asio::ip::tcp::endpoint& remote,
             std::error_code reason) noexcept {
  try {
    if (!writes(to, log_level::warning)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::refused, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto address = tagged(remote);
    log_record record;
    record.level = log_level::warning;
    record.address = address;
    record.error = reason;
    record.suppressed = suppressed;
    to->write(log_event::refused, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void opened(log_emitter* to, const connection& conn) noexcept {
  try {
    if (!writes(to, log_level::debug)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::connection_opened, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto address = conn.tagged_remote_address();
    log_record record;
    record.level = log_level::debug;
    record.connection_id = conn.id();
    record.address = address;
    record.suppressed = suppressed;
    to->write(log_event::connection_opened, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void closed(log_emitter* to, const connection& conn, std::error_code reason) noexcept {
  try {
    if (!conn.was_opened()) {
      // Refused after acceptance: the TLS handshake (OpenSSL's reason is the
      // error's message), the PROXY header, on_accept or a per-peer limit.
      if (!writes(to, log_level::warning)) {
        return;
      }
      std::uint64_t suppressed = 0;
      if (!to->admit(log_event::refused, suppressed)) {
        return;  // over its rate: counted, not formatted
      }
      const auto address = conn.tagged_remote_address();
      log_record record;
      record.level = log_level::warning;
      record.connection_id = conn.id();
      record.address = address;
      record.error = reason;
      record.suppressed = suppressed;
      to->write(log_event::refused, record);
      return;
    }
    const auto level = close_level(reason);
    if (!writes(to, level)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::connection_closed, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto stats = conn.stats();
    const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - conn.opened_at());
    field_list fields;
    fields.add("frames_in", stats.frames_received);
    fields.add("frames_out", stats.frames_sent);
    fields.add("bytes_in", stats.bytes_received);
    fields.add("bytes_out", stats.bytes_sent);
    fields.add("dropped", stats.frames_dropped);
    fields.add("lasted_ms", static_cast<std::uint64_t>(lasted.count()));
    const auto address = conn.tagged_remote_address();
    log_record record;
    record.level = level;
    record.connection_id = conn.id();
    record.address = address;
    record.error = reason;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(log_event::connection_closed, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void connected(log_emitter* to, const socket_address& target) noexcept {
  try {
    if (!writes(to, log_level::info)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::connected, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto address = target.to_string();
    log_record record;
    record.level = log_level::info;
    record.address = address;
    record.suppressed = suppressed;
    to->write(log_event::connected, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void dial_failed(log_emitter* to, const socket_address& target, std::error_code ec,
                 unsigned attempt, std::chrono::milliseconds retry_after) noexcept {
  try {
    if (!writes(to, log_level::warning)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::dial_failed, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto address = target.to_string();
    field_list fields;
    fields.add("attempt", attempt);
    fields.add("retry_ms", static_cast<std::uint64_t>(retry_after.count()));
    log_record record;
    record.level = log_level::warning;
    record.address = address;
    record.error = ec;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(log_event::dial_failed, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

void redial(log_emitter* to, const socket_address& target, std::chrono::milliseconds after,
            std::error_code reason) noexcept {
  try {
    if (!writes(to, log_level::info)) {
      return;
    }
    std::uint64_t suppressed = 0;
    if (!to->admit(log_event::redial, suppressed)) {
      return;  // over its rate: counted, not formatted
    }
    const auto address = target.to_string();
    field_list fields;
    fields.add("after_ms", static_cast<std::uint64_t>(after.count()));
    log_record record;
    record.level = log_level::info;
    record.address = address;
    record.error = reason;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(log_event::redial, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

}  // namespace detail::log

namespace detail {

void log_frame_error(const connection& conn, const frame_error& error) noexcept {
  const bool failed = error.code == wiregen::error::handler_failed;
  const auto level = failed ? log_level::error : log_level::warning;
  auto* to = conn.home_->log.get();
  if (!writes(to, level)) {
    return;
  }
  std::uint64_t suppressed = 0;
  if (!to->admit(failed ? log_event::handler_failed : log_event::frame_error, suppressed)) {
    return;  // over its rate: counted, not formatted
  }
  try {
    field_list fields;
    if (error.message_id) {
      fields.add("id", *error.message_id);
    }
    if (error.request_id) {
      fields.add("request_id", *error.request_id);
    }
    if (error.declared_size) {
      fields.add("declared_size", *error.declared_size);
    }
    const auto address = conn.tagged_remote_address();
    const auto what = error.what();
    log_record record;
    record.level = level;
    record.connection_id = conn.id();
    record.address = address;
    record.error = error.code;
    if (error.message_id) {
      record.message_type = message_name(*conn.dispatcher(), *error.message_id);
    }
    record.text = what;
    record.fields = fields.span();
    record.suppressed = suppressed;
    to->write(failed ? log_event::handler_failed : log_event::frame_error, record);
  } catch (...) {
    // Out of memory while formatting: the record is lost, nothing else.
  }
}

}  // namespace detail

}  // namespace wiregen
