#pragma once

#include <memory>
#include <system_error>

#include "wiregen/client.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/options.hpp"
#include "wiregen/typed_session.hpp"

namespace wiregen {

/// A client whose sends are typed for its side of the protocol, going to
/// whatever connection is current (and, by client_options, to a backlog
/// while there is none). Generated <pkg>::client classes are this.
template <class Session>
class typed_client : public client {
 public:
  using role = typename Session::role;
  using client::client;

  /// The session of the current connection; empty before the first one. It
  /// stays bound to that connection: after a reconnect, ask again.
  Session session() const { return Session(connection()); }

  /// Queues `message` without blocking; see client::write_frame for what
  /// happens while disconnected.
  template <class Message>
  requires(role::template sends<Message>) std::error_code
      send(const Message& message, const frame_meta& meta = {}) {
    const frame_writer<role, Message> frame(message, meta);
    const auto ec = send_frame(frame);
    if (!ec) {
      count_sent(role::template id<Message>, frame.size(), meta);
    }
    return ec;
  }
};

}  // namespace wiregen
