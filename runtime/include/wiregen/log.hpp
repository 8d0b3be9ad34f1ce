#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace wiregen {

/// How much a record matters. A logger writes records at its threshold and
/// above; `off` as a threshold writes none.
enum class log_level : std::uint8_t { debug, info, warning, error, off };

/// "debug", "info", "warning", "error", "off".
std::string_view to_string(log_level level) noexcept;
/// The level named as to_string names it (for command-line flags); nullopt
/// for any other text.
std::optional<log_level> log_level_from_string(std::string_view name) noexcept;

/// A free field of a record, already text ("frames_in", "42").
struct log_field {
  std::string_view name;
  std::string_view value;
};

/// One thing the runtime reports. Every view is valid during
/// logger::write only: a logger that keeps a record copies what it keeps.
struct log_record {
  log_level level = log_level::info;
  /// What happened, one fixed name per kind ("connection_closed",
  /// "refused", "frame_error"...: docs/operations.md lists them all).
  std::string_view event;
  /// The connection it is about (as connection::id()); 0 for none.
  std::uint64_t connection_id = 0;
  /// The peer, tagged with its transport ("127.0.0.1:50112 (tcp)"), or an
  /// address a server listens on or a client dials; empty for none.
  std::string_view address;
  /// Why, if it is about a failure or a close.
  std::error_code error;
  /// The message type concerned ("bench.EchoRequest"), if known.
  std::string_view message_type;
  /// Free text: what a handler threw, say.
  std::string_view text;
  std::span<const log_field> fields;
  /// Records of the same event the rate limit dropped since the last one
  /// written: an attack cannot flood the log, and the log says so.
  std::uint64_t suppressed = 0;
};

/// Where the runtime's records go: set server_options::logger,
/// client_options::logger. Without one, the runtime formats and allocates
/// nothing for logging; with one, nothing below its threshold.
class logger {
 public:
  explicit logger(log_level threshold = log_level::info) noexcept : threshold_(threshold) {}
  virtual ~logger() = default;
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  /// Whether a record of `level` would be written. Thread-safe.
  bool enabled(log_level level) const noexcept {
    const auto threshold = threshold_.load(std::memory_order_relaxed);
    return threshold != log_level::off && level >= threshold;
  }
  /// Changes the threshold at run time. Thread-safe.
  void set_threshold(log_level threshold) noexcept {
    threshold_.store(threshold, std::memory_order_relaxed);
  }

  /// Writes one record at or above the threshold. Called from any of the
  /// runtime's threads, concurrently: it must be thread-safe, quick (the
  /// caller is an event loop) and must not throw.
  virtual void write(const log_record& record) noexcept = 0;

 private:
  std::atomic<log_level> threshold_;
};

/// How the shipped sinks write a record: text_logger's lines or JSON Lines.
enum class log_format : std::uint8_t { text, json };

/// Appends `record` to `out` as one line in `format`, with the time it is
/// now and a final newline: for sinks of one's own.
void format_line(const log_record& record, log_format format, std::string& out);

/// One line of text per record, to `out`:
///   2026-12-06T03:55:01.123Z warning frame_error conn=7 addr="127.0.0.1:50112 (tcp)"
///   error="unknown message id" type=bench.EchoRequest id=9
std::shared_ptr<logger> text_logger(log_level threshold = log_level::info, std::FILE* out = stderr);

/// One JSON object per line, to `out` (JSON Lines): "time", "level",
/// "event", then the record's other members when set, "error" as
/// {"category", "value", "message"}, free fields as strings.
std::shared_ptr<logger> json_logger(log_level threshold = log_level::info, std::FILE* out = stderr);

/// Lines (text or JSON) sent over TCP to a collector at `host:port`
/// (Vector, Fluent Bit, Logstash, rsyslog's imtcp...), from a thread of the
/// logger's own: write() only appends to a buffer of at most
/// `max_buffered_bytes`, so a slow or absent collector never holds up the
/// server. It connects on the first record and again after a failure (at
/// most once a second); records that do not fit, or were in flight when
/// the connection failed, are dropped and counted, and a `log_dropped`
/// record with the count goes out before the next ones. The destructor
/// sends what is buffered to a collector it is connected to (each send
/// waits at most a second), and drops it otherwise.
std::shared_ptr<logger> tcp_logger(std::string host, std::uint16_t port,
                                   log_level threshold = log_level::info,
                                   log_format format = log_format::json,
                                   std::size_t max_buffered_bytes = 1024 * 1024);

}  // namespace wiregen
