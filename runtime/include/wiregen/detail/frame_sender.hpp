#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <stop_token>
#include <system_error>
#include <utility>
#include <vector>

#include "wiregen/error.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/session.hpp"

namespace wiregen::detail {

/// What a session sends with: an encoder of one frame that says whether it
/// may be sent (`check()`), how large it is and how to write it in place.
template <class Writer>
concept frame_encoder = requires(const Writer& writer, std::uint8_t* out) {
  { writer.check() } -> std::convertible_to<std::error_code>;
  { writer.size() } -> std::convertible_to<std::size_t>;
  writer(out);
  writer.to_bytes();
};

/// Sends one frame as one datagram to `peer`, encoded in a buffer of the
/// calling thread's: no allocation once it has grown.
template <frame_encoder Writer>
std::error_code send_datagram(const datagram_peer& peer, const Writer& frame) {
  thread_local std::vector<std::uint8_t> scratch;
  scratch.resize(frame.size());
  frame(scratch.data());
  return peer.send(scratch);
}

/// The three ways to send a frame, shared by the typed sessions of every
/// framing (protobuf messages, text lines): they differ only in the encoder.
/// A datagram peer has no queue, so every way sends at once.
class frame_sender : public session {
 public:
  using session::session;

 protected:
  template <frame_encoder Writer>
  std::error_code try_send_frame(const Writer& frame) const {
    if (const auto ec = frame.check()) {
      return ec;
    }
    if (connection()) {
      return connection()->write_frame(frame.size(), frame);
    }
    return peer() ? send_datagram(*peer(), frame) : std::error_code(error::not_connected);
  }

  template <frame_encoder Writer>
  std::error_code send_frame_for(const Writer& frame, std::chrono::milliseconds timeout,
                                 std::stop_token cancel) const {
    if (const auto ec = frame.check()) {
      return ec;
    }
    if (connection()) {
      return connection()->write_frame_for(frame.size(), frame, timeout, std::move(cancel));
    }
    return peer() ? send_datagram(*peer(), frame) : std::error_code(error::not_connected);
  }

  /// Encodes the frame before it returns: what it was made from need not
  /// outlive the call.
  template <frame_encoder Writer, class Token>
  auto async_send_frame(const Writer& frame, std::chrono::milliseconds timeout,
                        Token&& token) const {
    std::error_code refused = frame.check();
    if (!refused && !connection()) {
      // A datagram goes out now; the token learns how that went.
      refused = peer() ? send_datagram(*peer(), frame) : std::error_code(error::not_connected);
      return complete_at_once(refused, std::forward<Token>(token));
    }
    if (refused) {
      return complete_at_once(refused, std::forward<Token>(token));
    }
    return connection()->async_write_frame(frame.to_bytes(), timeout, std::forward<Token>(token));
  }

  /// Shows a frame a send accepted to the connection's meter (per-type
  /// counts, the message observer).
  void count_sent(std::uint32_t message_id, std::size_t size, const frame_meta& meta) const {
    if (connection()) {
      if (auto* meter = connection()->meter()) {
        meter->sent(connection()->id(), message_id, size, meta);
      }
    }
  }

  template <class Token>
  static auto complete_at_once(std::error_code outcome, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [outcome](auto handler) {
          auto executor = asio::get_associated_executor(handler);
          asio::post(executor, [handler = std::move(handler), outcome]() mutable {
            std::move(handler)(outcome);
          });
        },
        token);
  }
};

}  // namespace wiregen::detail
