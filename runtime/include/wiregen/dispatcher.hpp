#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace wiregen {

class connection;

/// What a dispatcher made of the bytes it was given.
struct decode_result {
  /// Bytes of complete frames taken from the front of the input.
  std::size_t consumed = 0;
  /// Bytes the next frame needs in total (header, or header and payload once
  /// the header is known and valid); never more than the maximum frame size.
  std::size_t wanted = 0;
  /// Set when a frame was bad; the connection closes with it as the reason.
  std::error_code error;
};

/// The bridge between a connection and generated code: a generated
/// <role>_dispatcher decodes frames and calls the user's handler. Every call
/// happens on the connection's own thread, one at a time per connection; one
/// dispatcher serves all the connections of a server concurrently.
class dispatcher {
 public:
  virtual ~dispatcher() = default;

  /// The connection is established; called before any on_input().
  virtual void on_open(connection& conn) = 0;

  /// Decodes and dispatches the complete frames at the front of `input`,
  /// stopping early if the connection stops reading (a handler stopped it).
  virtual decode_result on_input(connection& conn, std::span<const std::uint8_t> input) = 0;

  /// The connection closed; called exactly once, after its last on_input().
  /// `reason` is empty for a stop requested by this side.
  virtual void on_close(connection& conn, std::error_code reason) = 0;
};

}  // namespace wiregen
