// The two loggers the runtime ships: lines of text and JSON Lines, to a
// FILE*. Each record is formatted whole, then written with one fwrite
// under a lock, so lines from several threads never interleave.
#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "wiregen/log.hpp"

namespace wiregen {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
    case log_level::off:
      return "off";
  }
  return "unknown";
}

std::optional<log_level> log_level_from_string(std::string_view name) noexcept {
  for (const auto level :
       {log_level::debug, log_level::info, log_level::warning, log_level::error, log_level::off}) {
    if (name == to_string(level)) {
      return level;
    }
  }
  return std::nullopt;
}

namespace {

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// 2026-12-06T03:55:01.123Z
void append_time(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const auto size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(text, size);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

// A control character, which a terminal might act on: shown as \xNN.
bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

// `value` with quotes, backslashes and control characters escaped, the
// control characters as `control_prefix` and two hex digits: "\\x" for
// text, "\\u00" for JSON.
void append_escaped(std::string& out, std::string_view value, std::string_view control_prefix) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (is_control(c)) {
      const auto byte = static_cast<unsigned char>(c);
      out += control_prefix;
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += c;
    }
  }
}

// key=value, the value quoted when it holds a space, a quote, a control
// character or nothing.
void append_text_value(std::string& out, std::string_view value) {
  const bool quoted = value.empty() || value.find_first_of(" \"=\\") != value.npos ||
                      std::any_of(value.begin(), value.end(), is_control);
  if (!quoted) {
    out.append(value);
    return;
  }
  out += '"';
  append_escaped(out, value, "\\x");
  out += '"';
}

void format_text(const log_record& record, std::string& out) {
  append_time(out);
  out += ' ';
  out += to_string(record.level);
  out += ' ';
  out += record.event;
  const auto field = [&](std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += '=';
    append_text_value(out, value);
  };
  if (record.connection_id != 0) {
    out += " conn=";
    append_number(out, record.connection_id);
  }
  if (!record.address.empty()) {
    field("addr", record.address);
  }
  if (record.error) {
    field("error", record.error.message());
    out += " code=";
    out += record.error.category().name();
    out += ':';
    out += std::to_string(record.error.value());
  }
  if (!record.message_type.empty()) {
    field("type", record.message_type);
  }
  if (!record.text.empty()) {
    field("text", record.text);
  }
  for (const auto& f : record.fields) {
    field(f.name, f.value);
  }
  if (record.suppressed != 0) {
    out += " suppressed=";
    append_number(out, record.suppressed);
  }
}

void append_json_string(std::string& out, std::string_view value) {
  out += '"';
  append_escaped(out, value, "\\u00");
  out += '"';
}

void format_json(const log_record& record, std::string& out) {
  const auto member = [&](std::string_view name) {
    out += ",\"";
    out += name;
    out += "\":";
  };
  out += "{\"time\":\"";
  append_time(out);
  out += '"';
  member("level");
  append_json_string(out, to_string(record.level));
  member("event");
  append_json_string(out, record.event);
  if (record.connection_id != 0) {
    member("conn");
    append_number(out, record.connection_id);
  }
  if (!record.address.empty()) {
    member("address");
    append_json_string(out, record.address);
  }
  if (record.error) {
    member("error");
    out += "{\"category\":";
    append_json_string(out, record.error.category().name());
    out += ",\"value\":";
    out += std::to_string(record.error.value());
    out += ",\"message\":";
    append_json_string(out, record.error.message());
    out += '}';
  }
  if (!record.message_type.empty()) {
    member("type");
    append_json_string(out, record.message_type);
  }
  if (!record.text.empty()) {
    member("text");
    append_json_string(out, record.text);
  }
  if (!record.fields.empty()) {
    member("fields");
    out += '{';
    bool first = true;
    for (const auto& f : record.fields) {
      if (!first) {
        out += ',';
      }
      first = false;
      append_json_string(out, f.name);
      out += ':';
      append_json_string(out, f.value);
    }
    out += '}';
  }
  if (record.suppressed != 0) {
    member("suppressed");
    append_number(out, record.suppressed);
  }
  out += '}';
}

class file_logger final : public logger {
 public:
  file_logger(log_level threshold, log_format format, std::FILE* out)
      : logger(threshold), format_(format), out_(out) {}

  void write(const log_record& record) noexcept override {
    try {
      std::string line;
      line.reserve(256);
      format_line(record, format_, line);
      std::lock_guard lock(mutex_);
      std::fwrite(line.data(), 1, line.size(), out_);
      std::fflush(out_);
    } catch (...) {
      // Out of memory: the record is lost, the caller goes on.
    }
  }

 private:
  log_format format_;
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace

void format_line(const log_record& record, log_format format, std::string& out) {
  if (format == log_format::json) {
    format_json(record, out);
  } else {
    format_text(record, out);
  }
  out += '\n';
}

std::shared_ptr<logger> text_logger(log_level threshold, std::FILE* out) {
  return std::make_shared<file_logger>(threshold, log_format::text, out);
}

std::shared_ptr<logger> json_logger(log_level threshold, std::FILE* out) {
  return std::make_shared<file_logger>(threshold, log_format::json, out);
}

}  // namespace wiregen
