#pragma once

#include <google/protobuf/message_lite.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <system_error>
#include <vector>

#include "wiregen/detail/frame_sender.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_meta.hpp"
#include "wiregen/protocol_info.hpp"
#include "wiregen/session.hpp"
#include "wiregen/varint.hpp"

namespace wiregen {

/// What generated code describes for one side of a protocol, e.g.
/// chat::server_role: the header size and payload limit of its framing, how
/// to write a header and finish a frame (its checksum trailer), and which
/// messages the side sends under which id.
template <class Role>
concept protocol_role = requires(std::uint8_t* frame, std::size_t size, const frame_meta& meta) {
  { Role::max_payload_size } -> std::convertible_to<std::size_t>;
  { Role::trailer_size } -> std::convertible_to<std::size_t>;
  { Role::header_size_for(0u, size, meta) } -> std::convertible_to<std::size_t>;
  Role::finish_frame(frame, size, size);
};

/// One side of a generated protocol (a <namespace>::protocol), as its
/// sessions see it: the protocol's layout and table, and which of the
/// table's messages this side sends. Generated <role>_role types are this.
template <class Protocol, message_sender Side>
struct protocol_side : Protocol {
  template <class Message>
  static constexpr bool sends = Protocol::template sender<Message> == Side ||
                                Protocol::template sender<Message> == message_sender::both;
};

namespace detail {

/// The number of the envelope's oneof field that carries `Message`, or 0
/// when the role's framing has no envelope.
template <class Role, class Message>
constexpr std::uint32_t envelope_field() {
  if constexpr (requires { Role::template envelope_field<Message>; }) {
    return Role::template envelope_field<Message>;
  } else {
    return 0;
  }
}

}  // namespace detail

/// One typed message encoded as a frame of `size()` bytes by `operator()`:
/// header, the payload serialized in place, then the trailer. With an
/// envelope the payload is the envelope holding just this message, written
/// as protobuf would (the oneof field's tag and length, then the message)
/// without building an envelope object. Holds references only; use it
/// while the message lives.
template <protocol_role Role, class Message>
class frame_writer {
  static constexpr std::uint32_t field_ = detail::envelope_field<Role, Message>();
  // Wire type 2: length-delimited.
  static constexpr std::uint64_t tag_ = (std::uint64_t{field_} << 3) | 2;

 public:
  frame_writer(const Message& message, const frame_meta& meta)
      : message_(message),
        meta_(meta),
        message_size_(message.ByteSizeLong()),
        payload_size_(field_ == 0
                          ? message_size_
                          : varint::size_of(tag_) + varint::size_of(message_size_) + message_size_),
        header_size_(Role::header_size_for(Role::template id<Message>, payload_size_, meta)) {}

  /// error::message_too_large when the payload exceeds the framing's limit.
  std::error_code check() const noexcept {
    return payload_size_ > Role::max_payload_size ? std::error_code(error::message_too_large)
                                                  : std::error_code();
  }
  std::size_t size() const noexcept { return header_size_ + payload_size_ + Role::trailer_size; }

  void operator()(std::uint8_t* out) const {
    Role::write_header(out, Role::template id<Message>, payload_size_, meta_);
    std::uint8_t* payload = out + header_size_;
    if constexpr (field_ != 0) {
      payload += varint::write(payload, tag_);
      payload += varint::write(payload, message_size_);
    }
    message_.SerializeWithCachedSizesToArray(payload);
    Role::finish_frame(out, header_size_, payload_size_);
  }

  /// The frame in bytes of its own, for a send that outlives the message.
  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> bytes(size());
    (*this)(bytes.data());
    return bytes;
  }

 private:
  const Message& message_;
  const frame_meta& meta_;
  std::size_t message_size_;
  std::size_t payload_size_;
  std::size_t header_size_;
};

/// A session that sends the messages of one side of a protocol, typed: a
/// message the side does not send does not compile. Generated
/// <role>_session classes are this with their role.
///
/// Three ways to send, all safe from any thread, all failing with
/// error::connection_closed once the connection stops:
///  - send/try_send never block: queued, or send_queue_full and nothing queued;
///  - send_for waits up to a timeout for room (cancellable by a stop token);
///  - async_send completes through an Asio token (callback, use_awaitable,
///    use_future) once queued, with an optional deadline and cancellation.
template <protocol_role Role>
class typed_session : public detail::frame_sender {
 public:
  using role = Role;
  using frame_sender::frame_sender;

  template <class Message>
  requires(Role::template sends<Message>) std::error_code
      try_send(const Message& message, const frame_meta& meta = {})
  const {
    const frame_writer<Role, Message> frame(message, meta);
    const auto ec = try_send_frame(frame);
    if (!ec) {
      this->count_sent(Role::template id<Message>, frame.size(), meta);
    }
    return ec;
  }

  /// The same as try_send: the plain send never blocks.
  template <class Message>
  requires(Role::template sends<Message>) std::error_code
      send(const Message& message, const frame_meta& meta = {})
  const { return try_send(message, meta); }

  template <class Message>
  requires(Role::template sends<Message>) std::error_code
      send_for(const Message& message, std::chrono::milliseconds timeout,
               const frame_meta& meta = {}, std::stop_token cancel = {})
  const {
    const frame_writer<Role, Message> frame(message, meta);
    const auto ec = send_frame_for(frame, timeout, std::move(cancel));
    if (!ec) {
      this->count_sent(Role::template id<Message>, frame.size(), meta);
    }
    return ec;
  }

  /// Completes with the outcome once the frame is queued; a `timeout` of
  /// zero waits for room without deadline. The message is encoded before
  /// this returns and need not outlive the call.
  template <class Message, class Token>
  requires(Role::template sends<Message>) auto async_send(const Message& message,
                                                          const frame_meta& meta,
                                                          std::chrono::milliseconds timeout,
                                                          Token&& token) const {
    const frame_writer<Role, Message> frame(message, meta);
    if (!frame.check()) {
      this->count_sent(Role::template id<Message>, frame.size(), meta);  // started
    }
    return async_send_frame(frame, timeout, std::forward<Token>(token));
  }

  template <class Message, class Token>
  requires(Role::template sends<Message>) auto async_send(const Message& message,
                                                          std::chrono::milliseconds timeout,
                                                          Token&& token) const {
    return async_send(message, frame_meta{}, timeout, std::forward<Token>(token));
  }

  template <class Message, class Token>
  requires(Role::template sends<Message>) auto async_send(const Message& message,
                                                          Token&& token) const {
    return async_send(message, frame_meta{}, std::chrono::milliseconds(0),
                      std::forward<Token>(token));
  }
};

}  // namespace wiregen
