// What happens to bad frames, over loopback with raw bytes on the wire:
// on_error decides between disconnect and skip; skipping drops exactly the
// bad frame, never delays the good ones behind it, and never buffers an
// oversized frame. Uses the pulse protocol (frames of at most 64 bytes).
#include "pulse.wiregen.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

class policy_server final : public pulse::server_handler {
 public:
  explicit policy_server(wiregen::error_action action) : action_(action) {}

  void on_message(pulse::server_session&, const pulse::Ping&) override {}
  void on_message(pulse::server_session& session, const pulse::Reading& reading) override {
    pulse::Ack ack;
    ack.set_seq(reading.seq());
    (void)session.send(ack);
    events.update([&] { readings.push_back(reading); });
  }
  wiregen::error_action on_error(pulse::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return action_;
  }
  void on_closed(pulse::server_session&, std::error_code reason,
                 const wiregen::connection_stats& stats) override {
    events.update([&] {
      reasons.push_back(reason);
      last_stats = stats;
    });
  }

  wiregen::test::waiter events;
  std::vector<pulse::Reading> readings;
  std::vector<std::error_code> errors;
  std::vector<std::error_code> reasons;
  wiregen::connection_stats last_stats;

 private:
  wiregen::error_action action_;
};

std::string reading_frame(std::uint64_t seq, const std::string& sensor = "t1") {
  pulse::Reading reading;
  reading.set_seq(seq);
  reading.set_sensor(sensor);
  reading.set_value(21.5);
  std::string frame;
  REQUIRE_FALSE(
      pulse::codec::append_frame(frame, pulse::message_id<pulse::Reading>::value, reading));
  return frame;
}

/// A frame header: magic, id, big-endian u16 length.
std::string header(std::uint8_t id, std::uint16_t length, std::uint8_t magic = 0xA5) {
  return {static_cast<char>(magic), static_cast<char>(id), static_cast<char>(length >> 8),
          static_cast<char>(length & 0xFF)};
}

struct pulse_fixture {
  explicit pulse_fixture(wiregen::error_action action)
      : handler(action), server(handler, one_thread()), peer((start(), server.port())) {}

  static wiregen::server_options one_thread() {
    wiregen::server_options options;
    options.io_threads = 1;
    return options;
  }
  void start() { REQUIRE_FALSE(server.listen("127.0.0.1", 0)); }

  bool wait_readings(std::size_t n) {
    return handler.events.wait([&] { return handler.readings.size() >= n; });
  }
  bool wait_closed() {
    return handler.events.wait([&] { return !handler.reasons.empty(); });
  }

  policy_server handler;
  pulse::server server;
  wiregen::test::raw_peer peer;
};

}  // namespace

TEST_CASE("policy: skip drops an oversized frame as it arrives, the next frame is intact",
          "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::skip);
  // 1000 payload bytes against a 64-byte limit, sent in pieces, then a good frame.
  f.peer.write(header(2, 1000) + std::string(300, '\x7f'));
  f.peer.write(std::string(300, '\x7f'));
  f.peer.write(std::string(400, '\x7f') + reading_frame(42));
  REQUIRE(f.wait_readings(1));
  CHECK(f.handler.readings[0].seq() == 42);
  CHECK(f.handler.readings[0].sensor() == "t1");
  REQUIRE(f.handler.errors.size() == 1);
  CHECK(f.handler.errors[0] == wiregen::error::frame_too_large);
  // Still open, and still serving.
  f.peer.write(reading_frame(43));
  REQUIRE(f.wait_readings(2));
  CHECK(f.handler.readings.size() == 2);
  f.peer.shutdown_send();
  CHECK(f.peer.read_until_closed() == asio::error::eof);
  REQUIRE(f.wait_closed());
  CHECK(f.handler.last_stats.frames_skipped == 1);
  CHECK(f.handler.last_stats.frames_received == 2);
}

TEST_CASE("policy: disconnect reports an oversized frame and closes", "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::disconnect);
  f.peer.write(header(2, 1000) + reading_frame(1));
  CHECK(f.peer.read_until_closed());
  REQUIRE(f.wait_closed());
  CHECK(f.handler.errors == std::vector<std::error_code>{wiregen::error::frame_too_large});
  CHECK(f.handler.reasons[0] == wiregen::error::frame_too_large);
  CHECK(f.handler.readings.empty());
}

TEST_CASE("policy: a bad frame followed by a good one in one segment: the good one is delivered",
          "[runtime][policy]") {
  const auto [name, bad, error] = GENERATE(
      std::make_tuple("unknown id", header(9, 2) + "zz", wiregen::error::unknown_message_id),
      std::make_tuple("unexpected id", header(3, 0), wiregen::error::unexpected_message),
      std::make_tuple("unparsable payload", header(2, 3) + "\x0a\x05x",
                      wiregen::error::payload_parse_failed));
  INFO(name);
  pulse_fixture f(wiregen::error_action::skip);
  f.peer.write(reading_frame(1) + bad + reading_frame(2));
  REQUIRE(f.wait_readings(2));
  CHECK(f.handler.readings[0].seq() == 1);
  CHECK(f.handler.readings[1].seq() == 2);
  CHECK(f.handler.errors == std::vector<std::error_code>{error});
  // Replies to both readings come back: nothing got out of step.
  std::error_code ec;
  const auto replies = f.peer.read(2 * pulse::framing::header_size + 4, ec);
  CHECK_FALSE(ec);
}

TEST_CASE("policy: a bad constant cannot be skipped: the connection closes anyway",
          "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::skip);
  f.peer.write(reading_frame(1) + header(2, 0, 0x5A) + reading_frame(2));
  CHECK(f.peer.read_until_closed());
  REQUIRE(f.wait_closed());
  CHECK(f.handler.reasons[0] == wiregen::error::bad_constant);
  REQUIRE(f.handler.readings.size() == 1);  // the frame before it was handled
  CHECK(f.handler.readings[0].seq() == 1);
}

TEST_CASE("policy: with skip, a peer's close is reported once, with no error storm",
          "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::skip);
  f.peer.write(reading_frame(1));
  REQUIRE(f.wait_readings(1));
  f.peer.shutdown_send();
  CHECK(f.peer.read_until_closed() == asio::error::eof);
  REQUIRE(f.wait_closed());
  CHECK(f.handler.reasons == std::vector<std::error_code>{asio::error::eof});
  CHECK(f.handler.errors.empty());
}

TEST_CASE("policy: a peer that closes in the middle of a skipped frame is a truncated frame",
          "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::skip);
  f.peer.write(header(2, 1000) + std::string(10, '\x01'));
  f.peer.shutdown_send();
  CHECK(f.peer.read_until_closed() == asio::error::eof);
  REQUIRE(f.wait_closed());
  CHECK(f.handler.reasons[0] == wiregen::error::truncated_frame);
}

TEST_CASE("policy: a decode error flushes the replies to earlier frames before closing",
          "[runtime][policy]") {
  pulse_fixture f(wiregen::error_action::disconnect);
  f.peer.write(reading_frame(7) + header(9, 0));
  std::error_code ec;
  const auto reply = f.peer.read(pulse::framing::header_size + 2, ec);
  REQUIRE_FALSE(ec);
  pulse::frame_header h;
  REQUIRE_FALSE(pulse::codec::read_header(reinterpret_cast<const std::uint8_t*>(reply.data()), h));
  CHECK(h.message_id == pulse::message_id<pulse::Ack>::value);
  CHECK(f.peer.read_until_closed());
  REQUIRE(f.wait_closed());
  CHECK(f.handler.reasons[0] == wiregen::error::unknown_message_id);
}

namespace {

/// Sees bad frames through on_frame_error, with what is known about each;
/// a Reading from sensor "throw" makes its handler throw.
class detail_server final : public pulse::server_handler {
 public:
  void on_message(pulse::server_session&, const pulse::Ping&) override {}
  void on_message(pulse::server_session&, const pulse::Reading& reading) override {
    if (reading.sensor() == "throw") {
      throw std::runtime_error("sensor says no");
    }
  }
  wiregen::error_action on_frame_error(pulse::server_session&,
                                       const wiregen::frame_error& error) override {
    events.update([&] {
      errors.push_back(error);
      whats.push_back(error.what());
    });
    return wiregen::error_action::skip;
  }

  wiregen::test::waiter events;
  std::vector<wiregen::frame_error> errors;
  std::vector<std::string> whats;
};

}  // namespace

TEST_CASE("policy: on_frame_error tells the message id, the declared size and what a handler threw",
          "[runtime][policy]") {
  detail_server handler;
  pulse::server server(handler, pulse_fixture::one_thread());
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  wiregen::test::raw_peer peer(server.port());

  const std::string thrower = reading_frame(7, "throw");
  peer.write(header(2, 1000) + std::string(1000, '\x7f'));  // over the 64-byte limit
  peer.write(header(9, 2) + "zz");                          // an id nobody sends
  peer.write(thrower);
  CHECK(peer.read_until_closed());  // a throwing handler always disconnects
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 3; }));
  handler.events.read([&] {
    const auto& oversized = handler.errors[0];
    CHECK(oversized.code == wiregen::error::frame_too_large);
    CHECK(oversized.declared_size == std::optional<std::uint64_t>(4 + 1000));
    CHECK_FALSE(oversized.message_id);  // the header was read only as far as its length
    CHECK(handler.whats[0].empty());

    const auto& unknown = handler.errors[1];
    CHECK(unknown.code == wiregen::error::unknown_message_id);
    CHECK(unknown.message_id == std::optional<std::uint64_t>(9));
    CHECK(unknown.declared_size == std::optional<std::uint64_t>(4 + 2));
    CHECK_FALSE(unknown.request_id);  // pulse has no REQUEST_ID field

    const auto& threw = handler.errors[2];
    CHECK(threw.code == wiregen::error::handler_failed);
    CHECK(threw.message_id ==
          std::optional<std::uint64_t>(pulse::message_id<pulse::Reading>::value));
    CHECK(threw.declared_size == std::optional<std::uint64_t>(thrower.size()));
    CHECK(threw.exception != nullptr);
    CHECK(handler.whats[2] == "sensor says no");
  });
}
