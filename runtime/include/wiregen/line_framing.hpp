#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "wiregen/connection.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

/// A text-line protocol's framing, as generated from a LINE_DELIMITED spec:
/// the bytes that end a line and the longest line, delimiter excluded.
template <class Role>
concept line_role = requires {
  { Role::delimiter } -> std::convertible_to<std::string_view>;
  { Role::max_line_length } -> std::convertible_to<std::size_t>;
};

/// One line encoded as a frame: the text, then the delimiter.
template <line_role Role>
class line_writer {
 public:
  explicit line_writer(std::string_view line) noexcept : line_(line) {}

  /// error::message_too_large past max_line_length; error::invalid_line
  /// when the text holds the delimiter (the peer would see two lines).
  std::error_code check() const noexcept {
    if (line_.size() > Role::max_line_length) {
      return error::message_too_large;
    }
    const std::string_view delimiter = Role::delimiter;
    if (line_.find(delimiter) != std::string_view::npos) {
      return error::invalid_line;
    }
    // Nor may the delimiter start early, across the line's end: "x\n" then
    // "\n\n" reads as "x" and a stray "\n".
    for (std::size_t k = 1; k < delimiter.size() && k <= line_.size(); ++k) {
      if (line_.substr(line_.size() - k) == delimiter.substr(0, k) &&
          delimiter.substr(k) == delimiter.substr(0, delimiter.size() - k)) {
        return error::invalid_line;
      }
    }
    return {};
  }
  std::size_t size() const noexcept {
    return line_.size() + std::string_view(Role::delimiter).size();
  }

  void operator()(std::uint8_t* out) const noexcept {
    const std::string_view delimiter = Role::delimiter;
    std::memcpy(out, line_.data(), line_.size());
    std::memcpy(out + line_.size(), delimiter.data(), delimiter.size());
  }

  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> bytes(size());
    (*this)(bytes.data());
    return bytes;
  }

 private:
  std::string_view line_;
};

/// The frame loop of a line protocol: hands each complete line at the front
/// of `input`, without its delimiter, to `dispatch(std::string_view)`. The
/// delimiter is looked for only as far as the longest line reaches, so a
/// peer that never sends one costs at most max_line_length bytes before the
/// connection closes with error::line_too_long; a line of exactly
/// max_line_length bytes passes. Each call scans from the front of the
/// buffered line again: bounded by max_line_length, and cheap for the
/// short lines text protocols use.
template <line_role Role, class Dispatch>
decode_result decode_lines(connection& conn, std::span<const std::uint8_t> input,
                           Dispatch&& dispatch) {
  const std::string_view delimiter = Role::delimiter;
  const std::size_t window = Role::max_line_length + delimiter.size();
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  decode_result result;
  while (conn.is_reading()) {
    const std::string_view rest = text.substr(result.consumed);
    const std::size_t end = rest.substr(0, window).find(delimiter);
    if (end == std::string_view::npos) {
      if (rest.size() >= window) {
        result.error = error::line_too_long;
      } else {
        result.wanted = rest.size() + 1;
      }
      break;
    }
    if (!conn.take_message_token()) {
      result.throttled = true;  // the line stays for later
      break;
    }
    result.consumed += end + delimiter.size();
    result.wanted = 0;
    if (const auto ec = dispatch(rest.substr(0, end))) {
      result.error = ec;
      break;
    }
    ++result.frames;
  }
  return result;
}

}  // namespace wiregen
