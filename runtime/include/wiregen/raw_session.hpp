#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stop_token>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "wiregen/client.hpp"
#include "wiregen/datagram_endpoint.hpp"
#include "wiregen/detail/frame_sender.hpp"

namespace wiregen {

/// Bytes sent as they are: a RAW protocol has no framing, so one send is
/// one "frame" of the send queue and its counters, whatever its size.
class raw_writer {
 public:
  explicit raw_writer(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}
  explicit raw_writer(std::string_view text) noexcept
      : bytes_(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) {}

  /// Nothing to refuse: the send queue's bounds apply.
  std::error_code check() const noexcept { return {}; }
  std::size_t size() const noexcept { return bytes_.size(); }
  void operator()(std::uint8_t* out) const noexcept {
    if (!bytes_.empty()) {
      std::memcpy(out, bytes_.data(), bytes_.size());
    }
  }
  std::vector<std::uint8_t> to_bytes() const { return {bytes_.begin(), bytes_.end()}; }

 private:
  std::span<const std::uint8_t> bytes_;
};

/// A session of a RAW protocol: sends bytes as they are. Generated
/// <role>_session classes of a RAW spec are this. The same three ways to
/// send as wiregen::typed_session, all safe from any thread; the bytes are
/// copied into the queue before a send returns. An empty send queues
/// nothing.
class raw_session : public detail::frame_sender {
 public:
  using frame_sender::frame_sender;

  /// Queues `bytes` without blocking; send_queue_full when there is no room
  /// (an empty queue takes any size).
  std::error_code send(std::span<const std::uint8_t> bytes) const {
    return bytes.empty() ? std::error_code() : try_send_frame(raw_writer(bytes));
  }
  std::error_code send(std::string_view text) const {
    return text.empty() ? std::error_code() : try_send_frame(raw_writer(text));
  }
  std::error_code try_send(std::span<const std::uint8_t> bytes) const { return send(bytes); }

  /// Waits up to `timeout` for room (cancellable by `cancel`).
  std::error_code send_for(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout,
                           std::stop_token cancel = {}) const {
    return send_frame_for(raw_writer(bytes), timeout, std::move(cancel));
  }

  /// Completes through an Asio token once queued; a zero `timeout` waits
  /// for room without deadline.
  template <class Token>
  auto async_send(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout,
                  Token&& token) const {
    return async_send_frame(raw_writer(bytes), timeout, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(std::span<const std::uint8_t> bytes, Token&& token) const {
    return async_send(bytes, std::chrono::milliseconds(0), std::forward<Token>(token));
  }
};

/// A client of a RAW protocol. Generated <pkg>::client classes of a RAW
/// spec are this.
template <class Session>
class raw_client : public client {
 public:
  using client::client;

  /// The session of the current connection; empty before the first one.
  Session session() const { return Session(connection()); }

  /// Queues `bytes` without blocking; see client::write_frame for what
  /// happens while disconnected.
  std::error_code send(std::span<const std::uint8_t> bytes) {
    return bytes.empty() ? std::error_code() : send_frame(raw_writer(bytes));
  }
  std::error_code send(std::string_view text) {
    return text.empty() ? std::error_code() : send_frame(raw_writer(text));
  }
};

/// A RAW protocol over UDP, to one server: each send is one datagram.
template <class Session>
class raw_datagram_client : public datagram_client {
 public:
  using datagram_client::datagram_client;

  /// The server as a session; empty before connect().
  Session session() const { return Session(server()); }

  /// Sends `bytes` to the server at once, as one datagram.
  std::error_code send(std::span<const std::uint8_t> bytes) const { return session().send(bytes); }
  std::error_code send(std::string_view text) const { return session().send(text); }
};

}  // namespace wiregen
