// Header layouts beyond fixed big-endian fields (schema/examples/beacon: a
// big-endian constant in a little-endian header, a 3-byte length, varint
// message ids and request ids, a CRC32C trailer) and Thrift's framed
// transport (schema/examples/thrift): byte for byte, split at every byte,
// oversized, corrupted, and over loopback.
#include "beacon.wiregen.h"
#include "thrift.wiregen.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "support/feeder.hpp"
#include "wiregen/byte_order.hpp"
#include "wiregen/crc32c.hpp"
#include "support/options.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

using wiregen::test::feeder;
namespace beacon = fleet::beacon;

/// CRC-32C bit by bit, straight from its definition: a reference that
/// shares nothing with the runtime's table and SSE 4.2 paths.
std::uint32_t reference_crc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
  }
  return ~crc;
}

std::string little_endian(std::uint64_t value, std::size_t bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  return out;
}

beacon::Reading reading_of(const std::string& device, std::size_t samples) {
  beacon::Reading reading;
  reading.set_device(device);
  reading.set_millicelsius(-1250);
  reading.set_samples(std::string(samples, 's'));
  return reading;
}

/// A beacon frame written by hand from the layout in beacon.framing.textpb.
std::string hand_made_beacon(const std::string& type_varint, const std::string& seq_varint,
                             const std::string& payload) {
  const std::size_t length = type_varint.size() + seq_varint.size() + payload.size() + 4;
  std::string frame = "\xB7\xE4" + little_endian(length, 3) + type_varint + seq_varint + payload;
  return frame + little_endian(reference_crc32c(frame), 4);
}

class beacon_server final : public beacon::server_handler {
 public:
  void on_message(beacon::server_session& session, const beacon::Reading& reading,
                  const wiregen::frame_meta& meta) override {
    events.update([&] {
      devices.push_back(reading.device());
      seqs.push_back(meta.request_id);
    });
    beacon::Ack ack;
    ack.set_accepted(1);
    (void)session.send(ack, meta);  // the reply carries the reading's seq
    if (reading.device() == "needs-command") {
      beacon::Command command;
      command.set_action("recalibrate");
      (void)session.send(command);
    }
  }
  wiregen::error_action on_error(beacon::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return policy;
  }
  wiregen::error_action policy = wiregen::error_action::disconnect;
  wiregen::test::waiter events;
  std::vector<std::string> devices;
  std::vector<std::uint64_t> seqs;
  std::vector<std::error_code> errors;
};

class beacon_client final : public beacon::client_handler {
 public:
  void on_message(beacon::client_session&, const beacon::Ack&,
                  const wiregen::frame_meta& meta) override {
    events.update([&] { acked.push_back(meta.request_id); });
  }
  void on_message(beacon::client_session&, const beacon::Command& command,
                  const wiregen::frame_meta&) override {
    events.update([&] { commands.push_back(command.action()); });
  }
  wiregen::test::waiter events;
  std::vector<std::uint64_t> acked;
  std::vector<std::string> commands;
};

std::string beacon_stream(const std::vector<std::uint64_t>& seqs) {
  std::string stream;
  for (const auto seq : seqs) {
    wiregen::frame_meta meta;
    meta.request_id = seq;
    REQUIRE_FALSE(beacon::codec::append_frame(
        stream, 1, reading_of("dev" + std::to_string(seq), seq % 200), meta));
  }
  return stream;
}

}  // namespace

TEST_CASE("crc32c: the standard check value, on the fast path and the table path",
          "[runtime][crc32c]") {
  const std::string check = "123456789";
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(check.data()),
                                            check.size());
  CHECK(wiregen::crc32c(bytes) == 0xE3069283u);
  CHECK(wiregen::detail::crc32c_extend_portable(0, bytes) == 0xE3069283u);
  // Every length around the 8-byte steps, and extending in two parts.
  std::string data;
  for (int i = 0; i < 70; ++i) {
    const std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(data.data()),
                                             data.size());
    REQUIRE(wiregen::crc32c(span) == reference_crc32c(data));
    REQUIRE(wiregen::detail::crc32c_extend_portable(0, span) == reference_crc32c(data));
    const auto half = span.size() / 2;
    REQUIRE(wiregen::crc32c_extend(wiregen::crc32c(span.first(half)), span.subspan(half)) ==
            reference_crc32c(data));
    data += static_cast<char>(i * 37 + 11);
  }
}

TEST_CASE("byte order: 3-byte fields in both orders", "[runtime][byte_order]") {
  std::uint8_t bytes[3];
  wiregen::store_uint<3, wiregen::byte_order::big>(bytes, 0x0A0B0C);
  CHECK((bytes[0] == 0x0A && bytes[1] == 0x0B && bytes[2] == 0x0C));
  CHECK(wiregen::load_uint<3, wiregen::byte_order::big>(bytes) == 0x0A0B0Cu);
  wiregen::store_uint<3, wiregen::byte_order::little>(bytes, 0x0A0B0C);
  CHECK((bytes[0] == 0x0C && bytes[1] == 0x0B && bytes[2] == 0x0A));
  CHECK(wiregen::load_uint<3, wiregen::byte_order::little>(bytes) == 0x0A0B0Cu);
}

TEST_CASE("beacon layout: frames are byte for byte what the spec describes",
          "[generated][layouts][beacon]") {
  // One-byte varints, two-byte varints (seq 200, id 300), and a payload
  // long enough that the 3-byte length uses its second byte.
  wiregen::frame_meta meta;
  meta.request_id = 5;
  const auto reading = reading_of("d1", 0);
  std::string ours;
  REQUIRE_FALSE(beacon::codec::append_frame(ours, 1, reading, meta));
  CHECK(ours == hand_made_beacon("\x01", "\x05", reading.SerializeAsString()));

  meta.request_id = 200;
  const auto big = reading_of("d2", 1000);
  ours.clear();
  REQUIRE_FALSE(beacon::codec::append_frame(ours, 1, big, meta));
  CHECK(ours == hand_made_beacon("\x01", "\xC8\x01", big.SerializeAsString()));

  beacon::Command command;
  command.set_action("reboot");
  ours.clear();
  REQUIRE_FALSE(beacon::codec::append_frame(ours, 300, command));
  CHECK(ours == hand_made_beacon("\xAC\x02", std::string(1, '\0'), command.SerializeAsString()));

  // The decoder reads back what the spec says.
  beacon::frame_header header;
  std::size_t header_size = 0;
  const std::span<const std::uint8_t> frame(reinterpret_cast<const std::uint8_t*>(ours.data()),
                                            ours.size());
  REQUIRE_FALSE(beacon::codec::scan_header(frame, header, header_size));
  CHECK(header_size == 2 + 3 + 2 + 1);
  CHECK(header.message_id == 300);
  CHECK(header.payload_size == command.ByteSizeLong());
  CHECK(beacon::codec::checksum_matches(frame, header_size));
}

TEST_CASE("beacon layout: a stream split at every byte boundary delivers every frame once",
          "[generated][layouts][beacon]") {
  const std::vector<std::uint64_t> seqs{1, 127, 128, 200, 70000, 3};
  const std::string stream = beacon_stream(seqs);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    beacon_server handler;
    feeder f(std::make_shared<beacon::server_dispatcher>(handler));
    REQUIRE_FALSE(f.feed(stream.substr(0, cut)).error);
    REQUIRE_FALSE(f.feed(stream.substr(cut)).error);
    REQUIRE(handler.seqs == seqs);
    CHECK(handler.devices.back() == "dev3");
    CHECK(f.buffered.empty());
  }
}

TEST_CASE("beacon layout: an oversized length fails from the header, before any payload",
          "[generated][layouts][beacon][limits]") {
  beacon_server handler;
  feeder f(std::make_shared<beacon::server_dispatcher>(handler));
  // length 0xFFFFFF: sixteen megabytes announced in three bytes, limit 4096.
  const auto result = f.feed(std::string("\xB7\xE4\xFF\xFF\xFF\x01\x01", 7));
  CHECK(result.error == wiregen::error::frame_too_large);
  CHECK(result.consumed == 7);
  CHECK(result.wanted == 0);  // the rest is never buffered
  CHECK(handler.seqs.empty());
}

TEST_CASE("beacon layout: corrupted frames are reported with their reason",
          "[generated][layouts][beacon][errors]") {
  wiregen::frame_meta meta;
  meta.request_id = 9;
  std::string good;
  REQUIRE_FALSE(beacon::codec::append_frame(good, 1, reading_of("ok", 20), meta));

  std::string flipped_payload = good;
  flipped_payload[10] = static_cast<char>(flipped_payload[10] ^ 0x20);
  std::string flipped_trailer = good;
  flipped_trailer.back() = static_cast<char>(flipped_trailer.back() ^ 0x01);
  std::string bad_magic = good;
  bad_magic[0] = '\xB8';
  // A length that cannot even hold the varints and the trailer.
  const std::string too_short("\xB7\xE4\x03\x00\x00\x01\x01", 7);
  // A message id whose varint never ends within 10 bytes.
  const std::string endless_varint =
      std::string("\xB7\xE4\x20\x00\x00", 5) + std::string(11, '\xFF');

  const auto [bytes, expected] =
      GENERATE_COPY(std::make_pair(flipped_payload, wiregen::error::checksum_mismatch),
                    std::make_pair(flipped_trailer, wiregen::error::checksum_mismatch),
                    std::make_pair(bad_magic, wiregen::error::bad_constant),
                    std::make_pair(too_short, wiregen::error::length_too_small),
                    std::make_pair(endless_varint, wiregen::error::malformed_varint));
  beacon_server handler;
  feeder f(std::make_shared<beacon::server_dispatcher>(handler));
  CHECK(f.feed(bytes).error == expected);
  CHECK(handler.seqs.empty());
}

TEST_CASE("beacon layout: a checksum mismatch closes the connection even when skip is asked",
          "[generated][layouts][beacon][errors]") {
  beacon_server handler;
  handler.policy = wiregen::error_action::skip;
  beacon::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  // The flipped bit could be in the length: skipping by it would lose the
  // stream, so the connection closes and the frame behind is not read.
  std::string corrupt = beacon_stream({1});
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0x01);
  peer.write(corrupt + beacon_stream({2}));
  CHECK(peer.read_until_closed());
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 1; }));
  CHECK(handler.errors[0] == wiregen::error::checksum_mismatch);
  CHECK(handler.events.read([&] { return handler.seqs.empty(); }));
}

TEST_CASE("beacon layout: a server and client talk over loopback, replies carry the seq",
          "[generated][layouts][beacon]") {
  beacon_server handler;
  beacon::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  beacon_client client_handler;
  beacon::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  const std::vector<std::uint64_t> seqs{1, 150, 1ull << 40};
  for (const auto seq : seqs) {
    wiregen::frame_meta meta;
    meta.request_id = seq;
    REQUIRE_FALSE(client.send(reading_of(seq == 150 ? "needs-command" : "plain", 3000), meta));
  }
  REQUIRE(client_handler.events.wait(
      [&] { return client_handler.acked.size() == 3 && client_handler.commands.size() == 1; }));
  CHECK(client_handler.acked == seqs);
  CHECK(client_handler.commands[0] == "recalibrate");
  CHECK(handler.events.read([&] { return handler.errors.empty(); }));
}

namespace {

class thrift_server final : public thrift_framed::server_handler {
 public:
  void on_message(thrift_framed::server_session& session,
                  const thrift_framed::Call& call) override {
    thrift_framed::Result result;
    result.set_value(call.method() + "(" + call.args() + ")");
    (void)session.send(result);
    events.update([&] { ++calls; });
  }
  wiregen::error_action on_error(thrift_framed::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return wiregen::error_action::disconnect;
  }
  wiregen::test::waiter events;
  int calls = 0;
  std::vector<std::error_code> errors;
};

thrift_framed::Call call_of(const std::string& method, const std::string& args) {
  thrift_framed::Call call;
  call.set_method(method);
  call.set_args(args);
  return call;
}

std::string big_endian_u32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

}  // namespace

TEST_CASE("thrift framed: a 4-byte big-endian size of the payload, then the payload",
          "[generated][layouts][thrift]") {
  const auto call = call_of("ping", std::string(300, 'x'));
  std::string ours;
  REQUIRE_FALSE(thrift_framed::codec::append_frame(ours, 0, call));
  const std::string payload = call.SerializeAsString();
  CHECK(ours == big_endian_u32(static_cast<std::uint32_t>(payload.size())) + payload);
}

TEST_CASE("thrift framed: split at every byte, oversized and unparsable frames",
          "[generated][layouts][thrift]") {
  std::string stream;
  for (int i = 0; i < 4; ++i) {
    REQUIRE_FALSE(thrift_framed::codec::append_frame(
        stream, 0,
        call_of("m" + std::to_string(i), std::string(static_cast<std::size_t>(i * 90), 'a'))));
  }
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    thrift_server handler;
    feeder f(std::make_shared<thrift_framed::server_dispatcher>(handler));
    REQUIRE_FALSE(f.feed(stream.substr(0, cut)).error);
    REQUIRE_FALSE(f.feed(stream.substr(cut)).error);
    REQUIRE(handler.calls == 4);
  }
  SECTION("a size past Thrift's 16 MB limit") {
    thrift_server handler;
    feeder f(std::make_shared<thrift_framed::server_dispatcher>(handler));
    CHECK(f.feed(big_endian_u32(0x7FFFFFFF)).error == wiregen::error::frame_too_large);
  }
  SECTION("a payload that is not a Call") {
    thrift_server handler;
    feeder f(std::make_shared<thrift_framed::server_dispatcher>(handler));
    CHECK(f.feed(big_endian_u32(2) + "\xFF\xFF").error == wiregen::error::payload_parse_failed);
  }
}

TEST_CASE("thrift framed: a hand-made frame over loopback is answered",
          "[generated][layouts][thrift]") {
  thrift_server handler;
  thrift_framed::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());
  const std::string payload = call_of("add", "1,2").SerializeAsString();
  peer.write(big_endian_u32(static_cast<std::uint32_t>(payload.size())) + payload);
  thrift_framed::Result expected;
  expected.set_value("add(1,2)");
  const std::string reply = expected.SerializeAsString();
  std::error_code ec;
  CHECK(peer.read(4 + reply.size(), ec) ==
        big_endian_u32(static_cast<std::uint32_t>(reply.size())) + reply);
  CHECK_FALSE(ec);
}
