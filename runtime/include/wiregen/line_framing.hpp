#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

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

}  // namespace wiregen
