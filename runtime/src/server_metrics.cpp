#include "wiregen/server_metrics.hpp"

#include <asio/error.hpp>

#include <cerrno>
#include <charconv>
#include <initializer_list>
#include <utility>

#include "wiregen/error.hpp"

namespace wiregen {

std::string_view error_name(std::error_code ec) noexcept {
  if (!ec) {
    return "none";
  }
  if (ec.category() == error_category()) {
    switch (static_cast<error>(ec.value())) {
      case error::frame_too_large:
        return "frame_too_large";
      case error::length_too_small:
        return "length_too_small";
      case error::bad_constant:
        return "bad_constant";
      case error::unknown_message_id:
        return "unknown_message_id";
      case error::unexpected_message:
        return "unexpected_message";
      case error::payload_parse_failed:
        return "payload_parse_failed";
      case error::message_too_large:
        return "message_too_large";
      case error::connection_closed:
        return "connection_closed";
      case error::send_queue_full:
        return "send_queue_full";
      case error::truncated_frame:
        return "truncated_frame";
      case error::handler_failed:
        return "handler_failed";
      case error::connect_timeout:
        return "connect_timeout";
      case error::not_connected:
        return "not_connected";
      case error::stop_timeout:
        return "stop_timeout";
      case error::bad_address:
        return "bad_address";
      case error::read_idle_timeout:
        return "read_idle_timeout";
      case error::write_stall_timeout:
        return "write_stall_timeout";
      case error::first_frame_timeout:
        return "first_frame_timeout";
      case error::too_many_connections:
        return "too_many_connections";
      case error::connection_rejected:
        return "connection_rejected";
      case error::send_cancelled:
        return "send_cancelled";
      case error::stopped:
        return "stopped";
      case error::handshake_timeout:
        return "handshake_timeout";
      case error::tls_not_configured:
        return "tls_not_configured";
      case error::untrusted_proxy:
        return "untrusted_proxy";
      case error::bad_proxy_header:
        return "bad_proxy_header";
      case error::too_many_from_address:
        return "too_many_from_address";
      case error::accept_rate_exceeded:
        return "accept_rate_exceeded";
      case error::message_rate_exceeded:
        return "message_rate_exceeded";
      case error::malformed_length_prefix:
        return "malformed_length_prefix";
      case error::malformed_varint:
        return "malformed_varint";
      case error::checksum_mismatch:
        return "checksum_mismatch";
      case error::frame_timeout:
        return "frame_timeout";
      case error::line_too_long:
        return "line_too_long";
      case error::invalid_line:
        return "invalid_line";
      case error::datagram_truncated:
        return "datagram_truncated";
      case error::trailing_bytes:
        return "trailing_bytes";
      case error::datagrams_unsupported:
        return "datagrams_unsupported";
      case error::remote_error:
        return "remote_error";
      case error::deadline_exceeded:
        return "deadline_exceeded";
      case error::call_failed_without_status:
        return "call_failed_without_status";
      case error::too_many_calls:
        return "too_many_calls";
      case error::overloaded:
        return "overloaded";
      case error::too_many_handshakes:
        return "too_many_handshakes";
      case error::no_inherited_sockets:
        return "no_inherited_sockets";
      case error::missing_server_name:
        return "missing_server_name";
      case error::idle_timeout:
        return "idle_timeout";
    }
    return "wiregen_other";
  }
  if (ec == asio::error::eof) {
    return "eof";
  }
  if (ec.category() == std::system_category() || ec.category() == asio::system_category()) {
    switch (ec.value()) {
      case ECONNRESET:
        return "connection_reset";
      case EPIPE:
        return "broken_pipe";
      case ETIMEDOUT:
        return "timed_out";
      case ECONNREFUSED:
        return "connection_refused";
      case ECONNABORTED:
        return "connection_aborted";
      case ECANCELED:
        return "operation_aborted";
      case EMFILE:
      case ENFILE:
        return "no_descriptors";
      case ENOMEM:
      case ENOBUFS:
        return "no_memory";
      default:
        return "system_error";
    }
  }
  if (std::string_view(ec.category().name()).starts_with("asio.ssl")) {
    return "tls";
  }
  if (std::string_view(ec.category().name()) == "asio.netdb" ||
      std::string_view(ec.category().name()) == "asio.addrinfo") {
    return "resolve_failed";
  }
  return "other";
}

namespace {

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// The shortest text that reads back as `value`.
void append_decimal(std::string& out, double value) {
  char digits[32];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

class exposition {
 public:
  exposition(std::string& out, std::string_view prefix) : out_(out), prefix_(prefix) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    name_line();
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    name_line();
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::uint64_t value) {
    name_line();
    out_ += ' ';
    append_number(out_, value);
    out_ += '\n';
  }

  // Label values here are error_name()s, state names, protobuf full names
  // and rpc names: [A-Za-z0-9_.] only, so nothing needs escaping.
  void sample(std::string_view label, std::string_view value, std::uint64_t count) {
    name_line();
    labels({{label, value}});
    append_number(out_, count);
    out_ += '\n';
  }

  void sample(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs,
              std::uint64_t count, std::string_view suffix = {}) {
    name_line();
    out_ += suffix;
    labels(pairs);
    append_number(out_, count);
    out_ += '\n';
  }

  void sample(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs,
              double value, std::string_view suffix) {
    name_line();
    out_ += suffix;
    labels(pairs);
    append_decimal(out_, value);
    out_ += '\n';
  }

 private:
  void labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
    char separator = '{';
    for (const auto& [label, value] : pairs) {
      out_ += separator;
      out_ += label;
      out_ += "=\"";
      out_ += value;
      out_ += '"';
      separator = ',';
    }
    out_ += "} ";
  }

  void name_line() {
    out_ += prefix_;
    out_ += name_;
  }

  std::string& out_;
  std::string_view prefix_;
  std::string_view name_;
};

void write_messages(const std::vector<message_metrics>& messages, exposition& e);
void write_calls(const std::vector<call_metrics>& calls, exposition& e, std::string_view time_name,
                 std::string_view time_help);

}  // namespace

void write_prometheus(const server_metrics& metrics, std::string& out, std::string_view prefix) {
  exposition e(out, prefix);
  e.family("server_state", "gauge", "Whether the server is in this state (1) or not (0).");
  for (const auto state :
       {server_state::idle, server_state::running, server_state::draining, server_state::stopped}) {
    static constexpr std::string_view names[] = {"idle", "running", "draining", "stopped"};
    e.sample("state", names[static_cast<int>(state)], metrics.state == state ? 1 : 0);
  }
  e.family("connections_open", "gauge", "Connections being served now.");
  e.sample(metrics.open_connections);
  e.family("connections_accepted_total", "counter", "Connections accepted.");
  e.sample(metrics.accepted);
  e.family("connections_refused_total", "counter",
           "Connections turned away before they were served, by reason.");
  for (const auto& [reason, count] : metrics.refused) {
    e.sample("reason", reason, count);
  }
  e.family("connections_closed_total", "counter",
           "Served connections that closed, by reason (none: closed by this side).");
  for (const auto& [reason, count] : metrics.closed) {
    e.sample("reason", reason, count);
  }
  e.family("frames_received_total", "counter", "Frames received whole.");
  e.sample(metrics.frames_received);
  e.family("frames_sent_total", "counter", "Frames written to the socket.");
  e.sample(metrics.frames_sent);
  e.family("bytes_received_total", "counter", "Bytes read from peers.");
  e.sample(metrics.bytes_received);
  e.family("bytes_sent_total", "counter", "Bytes written to peers.");
  e.sample(metrics.bytes_sent);
  e.family("frames_dropped_total", "counter",
           "Frames refused by a full send queue or dropped by a stop.");
  e.sample(metrics.frames_dropped);
  e.family("frames_skipped_total", "counter", "Bad frames passed over by on_error's skip.");
  e.sample(metrics.frames_skipped);
  write_messages(metrics.messages, e);
  write_calls(metrics.calls, e, "call_handler_seconds", "How long rpc handlers ran, by rpc.");
}

void write_prometheus(const client_metrics& metrics, std::string& out, std::string_view prefix) {
  exposition e(out, prefix);
  write_messages(metrics.messages, e);
  write_calls(metrics.calls, e, "call_latency_seconds",
              "From a call's request sent to its end, by rpc.");
}

namespace {

// An envelope's received frames name no type before they are parsed.
constexpr std::string_view unknown_type = "unknown";

void write_messages(const std::vector<message_metrics>& messages, exposition& e) {
  if (messages.empty()) {
    return;
  }
  const auto per_message = [&](std::string_view name, std::string_view type, std::string_view help,
                               auto field) {
    e.family(name, type, help);
    for (const auto& row : messages) {
      e.sample({{"message", row.message.empty() ? unknown_type : row.message}}, row.*field);
    }
  };
  per_message("messages_received_total", "counter", "Frames received, by message type.",
              &message_metrics::frames_received);
  per_message("message_bytes_received_total", "counter",
              "Bytes of whole frames received, by message type.", &message_metrics::bytes_received);
  per_message("messages_sent_total", "counter", "Frames a send accepted, by message type.",
              &message_metrics::frames_sent);
  per_message("message_bytes_sent_total", "counter",
              "Bytes of whole frames a send accepted, by message type.",
              &message_metrics::bytes_sent);
}

void write_calls(const std::vector<call_metrics>& calls, exposition& e, std::string_view time_name,
                 std::string_view time_help) {
  if (calls.empty()) {
    return;
  }
  static constexpr std::string_view outcomes[] = {"ok",    "failed", "deferred",
                                                  "threw", "unsent", "error"};
  e.family("calls_total", "counter",
           "Calls by rpc and outcome (failed: a status came back; error: no answer).");
  for (const auto& call : calls) {
    for (std::size_t i = 0; i < call.outcomes.size(); ++i) {
      e.sample({{"rpc", call.rpc}, {"outcome", outcomes[i]}}, call.outcomes[i]);
    }
  }
  e.family(time_name, "histogram", time_help);
  for (const auto& call : calls) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < call.time_buckets.size(); ++i) {
      cumulative += call.time_buckets[i];
      char bound[32] = "+Inf";
      if (i < handler_time_bounds.size()) {
        *std::to_chars(bound, bound + sizeof bound - 1, handler_time_bounds[i]).ptr = '\0';
      }
      e.sample({{"rpc", call.rpc}, {"le", bound}}, cumulative, "_bucket");
    }
    e.sample({{"rpc", call.rpc}}, call.seconds, "_sum");
    e.sample({{"rpc", call.rpc}}, cumulative, "_count");
  }
}

}  // namespace

}  // namespace wiregen
