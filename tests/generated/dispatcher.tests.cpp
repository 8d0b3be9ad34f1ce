// Generated dispatchers fed bytes directly: frames split at every byte
// boundary, many frames in one read, and bad frames.
#include "chat.wiregen.h"
#include "echo.wiregen.h"
#include "mumble.wiregen.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/feeder.hpp"

namespace {

class recording_echo_handler final : public bench::server_handler {
 public:
  void on_message(bench::server_session&, const bench::EchoRequest& request) override {
    seqs.push_back(request.seq());
    payloads.push_back(request.payload());
    if (stop_after && seqs.size() == stop_after) {
      throw_or_stop_();
    }
  }
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> payloads;
  std::size_t stop_after = 0;
  std::function<void()> throw_or_stop_;
};

using wiregen::test::feeder;

std::string echo_stream(int count) {
  std::string stream;
  for (int seq = 0; seq < count; ++seq) {
    bench::EchoRequest request;
    request.set_seq(static_cast<std::uint64_t>(seq));
    request.set_payload(
        std::string(static_cast<std::size_t>(seq * 7), static_cast<char>('a' + seq)));
    REQUIRE_FALSE(bench::codec::append_frame(stream, 1, request));
  }
  return stream;
}

}  // namespace

TEST_CASE("dispatcher: a stream split at every byte boundary delivers every frame once, in order",
          "[dispatcher][split]") {
  const std::string stream = echo_stream(5);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    recording_echo_handler handler;
    feeder f(std::make_shared<bench::server_dispatcher>(handler));
    REQUIRE_FALSE(f.feed(stream.substr(0, split)).error);
    const auto result = f.feed(stream.substr(split));
    REQUIRE_FALSE(result.error);
    REQUIRE(handler.seqs == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
    CHECK(handler.payloads[4] == std::string(28, 'e'));
    CHECK(f.buffered.empty());
  }
}

TEST_CASE("dispatcher: one byte at a time, and every frame of a single read",
          "[dispatcher][split]") {
  const std::string stream = echo_stream(20);
  SECTION("one byte per read") {
    recording_echo_handler handler;
    feeder f(std::make_shared<bench::server_dispatcher>(handler));
    for (const char byte : stream) {
      const auto result = f.feed(std::string(1, byte));
      REQUIRE_FALSE(result.error);
      // While a frame is incomplete the dispatcher says how much it needs,
      // never more than the maximum frame.
      CHECK(result.wanted <= bench::framing::max_frame_size);
    }
    CHECK(handler.seqs.size() == 20);
  }
  SECTION("all frames in one read") {
    recording_echo_handler handler;
    feeder f(std::make_shared<bench::server_dispatcher>(handler));
    const auto result = f.feed(stream);
    CHECK(result.consumed == stream.size());
    CHECK(handler.seqs.size() == 20);
  }
}

TEST_CASE("dispatcher: what a partial frame still needs", "[dispatcher][split]") {
  recording_echo_handler handler;
  feeder f(std::make_shared<bench::server_dispatcher>(handler));
  const std::string stream = echo_stream(3);  // third frame: 6 + 2 + 2 + 14 bytes
  const auto third = stream.substr(stream.size() - 24);
  CHECK(f.feed(third.substr(0, 3)).wanted == bench::framing::header_size);
  CHECK(f.feed(third.substr(3, 5)).wanted == 24);
  CHECK(f.feed(third.substr(8)).wanted == bench::framing::header_size);
  CHECK(handler.seqs == std::vector<std::uint64_t>{2});
}

TEST_CASE("dispatcher: an oversize length fails at once, before the payload is awaited",
          "[dispatcher][limits]") {
  recording_echo_handler handler;
  feeder f(std::make_shared<bench::server_dispatcher>(handler));
  const auto result = f.feed(std::string("\xff\xff\xff\xff\x00\x01", 6));
  CHECK(result.error == wiregen::error::frame_too_large);
  CHECK(result.wanted <= bench::framing::header_size);
  CHECK(handler.seqs.empty());
}

TEST_CASE("dispatcher: frames before a bad frame are delivered, the bad one is reported",
          "[dispatcher][errors]") {
  recording_echo_handler handler;
  feeder f(std::make_shared<bench::server_dispatcher>(handler));
  std::string stream = echo_stream(2);

  SECTION("unknown message id") {
    stream += std::string("\x00\x00\x00\x02\x00\x63", 6);
    CHECK(f.feed(stream).error == wiregen::error::unknown_message_id);
  }
  SECTION("a message the client never sends") {
    bench::EchoReply reply;
    REQUIRE_FALSE(bench::codec::append_frame(stream, 2, reply));
    CHECK(f.feed(stream).error == wiregen::error::unexpected_message);
  }
  SECTION("a payload that does not parse") {
    stream += std::string("\x00\x00\x00\x04\x00\x01\x0a\x05", 8);  // bytes field cut short
    CHECK(f.feed(stream).error == wiregen::error::payload_parse_failed);
  }
  CHECK(handler.seqs == std::vector<std::uint64_t>{0, 1});
}

TEST_CASE("dispatcher: a proto2 message missing a required field does not parse",
          "[dispatcher][errors]") {
  class mumble_server final : public MumbleProto::server_handler {
   public:
    void on_message(MumbleProto::server_session&, const MumbleProto::Version&) override {}
    void on_message(MumbleProto::server_session&, const MumbleProto::Ping&) override {}
    void on_message(MumbleProto::server_session&, const MumbleProto::TextMessage&) override {
      ++texts;
    }
    int texts = 0;
  } handler;
  feeder f(std::make_shared<MumbleProto::server_dispatcher>(handler));
  CHECK(f.feed(std::string("\x00\x0b\x00\x00\x00\x00", 6)).error ==
        wiregen::error::payload_parse_failed);
  CHECK(handler.texts == 0);
}

TEST_CASE("dispatcher: a handler exception becomes handler_failed, a stop ends the batch",
          "[dispatcher][errors]") {
  recording_echo_handler handler;
  feeder f(std::make_shared<bench::server_dispatcher>(handler));
  handler.stop_after = 2;
  SECTION("throwing") {
    handler.throw_or_stop_ = [] { throw std::runtime_error("boom"); };
    CHECK(f.feed(echo_stream(4)).error == wiregen::error::handler_failed);
  }
  SECTION("stopping the connection from the handler") {
    handler.throw_or_stop_ = [&] { f.conn->stop(wiregen::stop_mode::immediate); };
    CHECK_FALSE(f.feed(echo_stream(4)).error);
  }
  CHECK(handler.seqs.size() == 2);
}
