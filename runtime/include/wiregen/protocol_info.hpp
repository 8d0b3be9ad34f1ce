#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace wiregen {

/// Which side sends a message of a protocol's table (none: the message is
/// not in the table).
enum class message_sender { client, server, both, none };

/// One entry of a protocol's message table, for tools that pick messages by
/// name at run time (wiregen's load generator, say).
struct message_info {
  std::string_view full_name;  // bench.EchoRequest
  std::uint32_t id;            // what the frame carries (see protocol_info::ids_on_wire)
  message_sender sender;
};

/// One rpc of a `service`: the request the server answers with the reply.
struct rpc_info {
  std::string_view name;  // Greeter.SayHello
  std::string_view request;
  std::string_view reply;
};

/// What a generated protocol declares about itself beyond its codec: each
/// generated header defines `<namespace>::protocol` with these members
/// (static, constexpr) next to its codec functions, so a tool written once
/// can drive any protocol.
struct protocol_info {
  std::span<const message_info> messages;
  std::span<const rpc_info> rpcs;
  /// Whether frames carry the message id in their header. Without (an
  /// envelope names the message inside the payload, or each side sends
  /// one type), a received frame's id reads as 0.
  bool ids_on_wire;
  /// Whether frames carry a REQUEST_ID (frame_meta::request_id), which
  /// replies echo; without one, replies come back in order.
  bool request_ids;
};

}  // namespace wiregen
