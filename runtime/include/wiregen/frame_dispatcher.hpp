#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include "wiregen/connection.hpp"
#include "wiregen/datagram_peer.hpp"
#include "wiregen/dispatcher.hpp"
#include "wiregen/error.hpp"
#include "wiregen/frame_loop.hpp"
#include "wiregen/handler.hpp"
#include "wiregen/serve_call.hpp"

namespace wiregen {

/// What every protocol with a binary layout decodes the same way: frames
/// from a connection's bytes through its frame loop, one frame from a
/// datagram. `Protocol` (a generated <namespace>::protocol) reads headers;
/// `Derived`, the generated dispatcher, has what differs per protocol: its
/// `dispatch(session, header, frame, header_size)` checks a whole frame and
/// calls the handler (the switch over message ids).
template <class Protocol, class Session, class Handler, class Derived>
class frame_dispatcher : public basic_dispatcher<Session, Handler> {
 public:
  using protocol_type = Protocol;
  using session_type = Session;
  using handler_type = Handler;
  using basic_dispatcher<Session, Handler>::basic_dispatcher;

  const protocol_info* message_table() const noexcept override {
    if constexpr (requires { Protocol::info; }) {
      return &Protocol::info;
    } else {
      return nullptr;
    }
  }

  decode_result on_input(connection& conn, frame_loop& loop,
                         std::span<const std::uint8_t> input) override {
    Session session(conn.shared_from_this());
    return loop
        .decode<typename Protocol::header, Protocol::min_header_size, Protocol::trailer_size>(
            input, Protocol::scan_header,
            [&](const typename Protocol::header& header, std::span<const std::uint8_t> frame,
                std::size_t header_size) {
              if (auto* meter = conn.meter()) {
                meter->received(conn.id(), static_cast<std::uint32_t>(header.message_id),
                                frame.size(), header.meta);
              }
              return static_cast<Derived&>(*this).dispatch(session, header, frame, header_size);
            },
            [&](frame_error& report) {
              // What the header cannot say in this layout is left out.
              if (!Protocol::info.ids_on_wire) {
                report.message_id.reset();
              }
              if (!Protocol::info.request_ids) {
                report.request_id.reset();
              }
              return this->on_error(conn, report) == error_action::skip;
            });
  }

  std::error_code on_datagram(const std::shared_ptr<datagram_peer>& peer,
                              std::span<const std::uint8_t> datagram) override {
    Session session(peer);
    return frame_loop::decode_one<typename Protocol::header, Protocol::trailer_size>(
        datagram, Protocol::scan_header,
        [&](const typename Protocol::header& header, std::span<const std::uint8_t> frame,
            std::size_t header_size) {
          return static_cast<Derived&>(*this).dispatch(session, header, frame, header_size);
        });
  }
};

/// The same for a text-line protocol: every line goes to the handler's
/// on_line(session, line). `Framing` is the generated framing (its
/// delimiter and longest line). Lines do not travel in datagrams.
template <class Framing, class Session, class Handler>
class line_dispatcher : public basic_dispatcher<Session, Handler> {
 public:
  using basic_dispatcher<Session, Handler>::basic_dispatcher;

  decode_result on_input(connection& conn, frame_loop& loop,
                         std::span<const std::uint8_t> input) override {
    Session session(conn.shared_from_this());
    return loop.decode_lines(
        input, Framing::delimiter, Framing::max_line_length,
        [&](std::string_view line) -> std::error_code {
          try {
            this->handler_.on_line(session, line);
          } catch (...) {
            return handler_threw();
          }
          return {};
        },
        [&](frame_error& report) { return this->on_error(conn, report) == error_action::skip; });
  }
};

/// The same for a RAW protocol, which has no frames: whatever one read
/// brought goes to the handler's on_data(session, bytes) at once, and over
/// UDP each datagram. A handler that cannot take more pauses reading
/// (raw_session::pause_reading). The connection counts each on_data call as
/// a frame received.
template <class Session, class Handler>
class raw_dispatcher : public basic_dispatcher<Session, Handler> {
 public:
  using session_type = Session;
  using handler_type = Handler;
  using basic_dispatcher<Session, Handler>::basic_dispatcher;

  decode_result on_input(connection& conn, frame_loop& loop,
                         std::span<const std::uint8_t> input) override {
    decode_result result;
    if (!loop.gate().is_open()) {
      return result;  // a stop began: what arrives now is not dispatched
    }
    Session session(conn.shared_from_this());
    result.consumed = input.size();
    try {
      this->handler_.on_data(session, input);
      result.frames = 1;
    } catch (...) {
      frame_error failure(error::handler_failed);
      failure.declared_size = input.size();
      failure.exception = std::current_exception();
      (void)this->on_error(conn, failure);
      result.error = error::handler_failed;
    }
    return result;
  }

  std::error_code on_datagram(const std::shared_ptr<datagram_peer>& peer,
                              std::span<const std::uint8_t> datagram) override {
    Session session(peer);
    try {
      this->handler_.on_data(session, datagram);
    } catch (...) {
      return handler_threw();
    }
    return {};
  }
};

}  // namespace wiregen
