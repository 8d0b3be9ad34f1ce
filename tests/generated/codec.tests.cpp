// The generated codecs against hand-written bytes: one layout per reference
// protocol, both byte orders, every field width and role.
#include "chat.wiregen.h"
#include "echo.wiregen.h"
#include "mumble.wiregen.h"
#include "riak.wiregen.h"
#include "telemetry.wiregen.h"

#include <catch2/catch.hpp>

#include <string>

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) {
    out.push_back(static_cast<char>(value));
  }
  return out;
}

const std::uint8_t* wire(const std::string& s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

/// Whether a session of type Session can send a Message: the typed send()
/// overloads must exist exactly for what the spec lets that side send.
template <class Session, class Message>
concept can_send = requires(const Session& session, const Message& message) {
  session.send(message);
};

}  // namespace

TEST_CASE("codec: bench protocol frames are u32 BE length of type+payload, then u16 BE type",
          "[codec][bench]") {
  bench::EchoRequest request;
  request.set_seq(1);
  request.set_payload("hi");
  std::string frame;
  REQUIRE_FALSE(
      bench::codec::append_frame(frame, bench::message_id<bench::EchoRequest>::value, request));
  CHECK(frame == bytes({0, 0, 0, 8, 0, 1, 0x08, 1, 0x12, 2, 'h', 'i'}));

  bench::frame_header header;
  REQUIRE_FALSE(bench::codec::read_header(wire(frame), header));
  CHECK(header.message_id == 1);
  CHECK(header.payload_size == 6);
  STATIC_REQUIRE(bench::framing::header_size == 6);
  STATIC_REQUIRE(bench::framing::max_frame_size == 4 * 1024 * 1024);
}

TEST_CASE("codec: Mumble frames are u16 BE type, then u32 BE length of the payload only",
          "[codec][mumble]") {
  MumbleProto::Ping ping;
  ping.set_timestamp(5);
  std::string frame;
  REQUIRE_FALSE(MumbleProto::codec::append_frame(frame, 3, ping));
  CHECK(frame == bytes({0, 3, 0, 0, 0, 2, 0x08, 5}));
  MumbleProto::frame_header header;
  REQUIRE_FALSE(MumbleProto::codec::read_header(wire(frame), header));
  CHECK(header.message_id == 3);
  CHECK(header.payload_size == 2);
}

TEST_CASE("codec: Riak PBC frames are u32 BE length of code+payload, then a u8 code",
          "[codec][riak]") {
  riak::RpbGetReq get;
  get.set_bucket("b");
  get.set_key("k");
  std::string frame;
  REQUIRE_FALSE(riak::codec::append_frame(frame, riak::message_id<riak::RpbGetReq>::value, get));
  CHECK(frame == bytes({0, 0, 0, 7, 9, 0x0a, 1, 'b', 0x12, 1, 'k'}));

  // A bodiless message has length 1: just the code.
  riak::frame_header header;
  const auto empty = bytes({0, 0, 0, 1, 10});
  REQUIRE_FALSE(riak::codec::read_header(wire(empty), header));
  CHECK(header.message_id == 10);
  CHECK(header.payload_size == 0);
}

TEST_CASE("codec: little-endian header with constants and a request id", "[codec][chat]") {
  chat::LoginRequest login;
  login.set_user("al");
  std::string frame;
  REQUIRE_FALSE(chat::codec::append_frame(frame, 1, login, {.request_id = 0x01020304}));
  CHECK(frame == bytes({0x57, 1, 1, 4, 3, 2, 1, 4, 0, 0, 0, 0x0a, 2, 'a', 'l'}));

  chat::frame_header header;
  REQUIRE_FALSE(chat::codec::read_header(wire(frame), header));
  CHECK(header.meta.request_id == 0x01020304);
  CHECK(header.payload_size == 4);

  SECTION("a wrong magic byte is a bad constant") {
    frame[0] = 'X';
    CHECK(chat::codec::read_header(wire(frame), header) == wiregen::error::bad_constant);
  }
  SECTION("a wrong version is a bad constant") {
    frame[1] = 2;
    CHECK(chat::codec::read_header(wire(frame), header) == wiregen::error::bad_constant);
  }
}

TEST_CASE("codec: every width and role, a u64 whole-frame length with an adjustment",
          "[codec][telemetry]") {
  fleet::telemetry::Ack ack;
  ack.set_last_sequence(1);
  std::string frame;
  REQUIRE_FALSE(fleet::telemetry::codec::append_frame(
      frame, 0x101, ack, {.request_id = 0x1122334455667788, .flags = 0x8000000000000001}));
  // clang-format off
  CHECK(frame == bytes({0x01, 0x70, 0xee, 0xf1,                       // magic, u32 LE
                        2,                                            // version, u8
                        0,                                            // reserved, u8
                        0x01, 0x01,                                   // type, u16 LE
                        38, 0, 0, 0, 0, 0, 0, 0,                      // length: 34 + 4
                        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // request id
                        1, 0, 0, 0, 0, 0, 0, 0x80,                    // flags
                        0x08, 1}));
  // clang-format on
  fleet::telemetry::frame_header header;
  REQUIRE_FALSE(fleet::telemetry::codec::read_header(wire(frame), header));
  CHECK(header.message_id == 0x101);
  CHECK(header.payload_size == 2);
  CHECK(header.meta.request_id == 0x1122334455667788);
  CHECK(header.meta.flags == 0x8000000000000001);

  SECTION("a length shorter than the header is rejected") {
    frame[8] = 35;  // 31 bytes once the adjustment is taken off: less than the header
    CHECK(fleet::telemetry::codec::read_header(wire(frame), header) ==
          wiregen::error::length_too_small);
  }
  SECTION("the largest u64 length is rejected as too large, not wrapped around") {
    for (int i = 8; i < 16; ++i) {
      frame[i] = '\xff';
    }
    CHECK(fleet::telemetry::codec::read_header(wire(frame), header) ==
          wiregen::error::frame_too_large);
  }
}

TEST_CASE("codec: a length field announcing more than max_frame_size is rejected from the header",
          "[codec][limits]") {
  bench::frame_header header;
  for (const auto& frame :
       {bytes({0xff, 0xff, 0xff, 0xff, 0, 1}), bytes({0x7f, 0xff, 0xff, 0xff, 0, 1}),
        bytes({0x00, 0x40, 0x00, 0x00, 0, 1})}) {  // 4 MiB + header
    CHECK(bench::codec::read_header(wire(frame), header) == wiregen::error::frame_too_large);
  }
  // Exactly the maximum is fine: 4 MiB frame = 6-byte header + payload.
  const auto largest = bytes({0x00, 0x3f, 0xff, 0xfc, 0, 1});
  CHECK_FALSE(bench::codec::read_header(wire(largest), header));
  CHECK(header.payload_size == bench::framing::max_payload_size);
}

TEST_CASE("codec: a length too small for the rest of the header is rejected", "[codec][limits]") {
  bench::frame_header header;
  for (const auto& frame : {bytes({0, 0, 0, 0, 0, 1}), bytes({0, 0, 0, 1, 0, 1})}) {
    CHECK(bench::codec::read_header(wire(frame), header) == wiregen::error::length_too_small);
  }
}

TEST_CASE("codec: a message larger than the maximum frame is refused by the encoder",
          "[codec][limits]") {
  chat::Say say;
  say.set_text(std::string(chat::framing::max_frame_size, 'x'));
  std::string frame;
  CHECK(chat::codec::append_frame(frame, 5, say) == wiregen::error::message_too_large);
  CHECK(frame.empty());
}

TEST_CASE("codec: typed send() exists only for what each side sends", "[codec][send]") {
  STATIC_REQUIRE(can_send<bench::server_session, bench::EchoReply>);
  STATIC_REQUIRE_FALSE(can_send<bench::server_session, bench::EchoRequest>);
  STATIC_REQUIRE(can_send<bench::client_session, bench::EchoRequest>);
  STATIC_REQUIRE_FALSE(can_send<bench::client_session, bench::EchoReply>);
  // A message outside the table is nobody's to send.
  STATIC_REQUIRE_FALSE(can_send<bench::client_session, chat::Say>);
  // BOTH: either side may send chat.Notice; only the client sends chat.Say.
  STATIC_REQUIRE(can_send<chat::server_session, chat::Notice>);
  STATIC_REQUIRE(can_send<chat::client_session, chat::Notice>);
  STATIC_REQUIRE_FALSE(can_send<chat::server_session, chat::Say>);
}
