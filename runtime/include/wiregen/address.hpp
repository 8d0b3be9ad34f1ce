#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace wiregen {

/// A host and a port as given on a command line.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses "host:port", "[v6 address]:port" or ":port" (all interfaces).
/// Fails with error::bad_address when the text is not of that shape.
std::error_code parse_host_port(std::string_view text, host_port& out);

}  // namespace wiregen
