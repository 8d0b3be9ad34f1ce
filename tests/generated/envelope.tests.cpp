// A oneof envelope (schema/examples/relay): protobuf's delimited format
// where every payload is a relay.Packet, and the oneof field that is set
// names the message. Byte for byte what protobuf writes for the Packet,
// split at every byte, bad envelopes, and a server and client over loopback.
#include "relay.wiregen.h"

#include <google/protobuf/util/delimited_message_util.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "support/feeder.hpp"
#include "support/options.hpp"
#include "support/waiter.hpp"

namespace {

using wiregen::test::feeder;

class relay_server final : public relay::server_handler {
 public:
  void on_message(relay::server_session& session, const relay::Hello& hello) override {
    relay::Welcome welcome;
    welcome.set_session(42);
    (void)session.send(welcome);
    events.update([&] { seen.push_back("hello " + hello.client()); });
  }
  void on_message(relay::server_session& session, const relay::Publish& publish) override {
    relay::Delivery delivery;
    delivery.set_topic(publish.topic());
    delivery.set_data(publish.data());
    delivery.set_from("relay");
    (void)session.send(delivery);
    events.update([&] { seen.push_back("publish " + publish.topic()); });
  }
  void on_message(relay::server_session& session, const relay::Ping& ping) override {
    relay::Ping pong;
    pong.set_nonce(ping.nonce() + 1);
    (void)session.send(pong);
    events.update([&] { seen.push_back("ping " + std::to_string(ping.nonce())); });
  }
  wiregen::error_action on_error(relay::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return wiregen::error_action::disconnect;
  }
  wiregen::test::waiter events;
  std::vector<std::string> seen;
  std::vector<std::error_code> errors;
};

class relay_client final : public relay::client_handler {
 public:
  void on_message(relay::client_session&, const relay::Welcome& welcome) override {
    events.update([&] { seen.push_back("welcome " + std::to_string(welcome.session())); });
  }
  void on_message(relay::client_session&, const relay::Delivery& delivery) override {
    events.update([&] { seen.push_back("delivery " + delivery.topic() + " " + delivery.data()); });
  }
  void on_message(relay::client_session&, const relay::Ping& ping) override {
    events.update([&] { seen.push_back("pong " + std::to_string(ping.nonce())); });
  }
  wiregen::test::waiter events;
  std::vector<std::string> seen;
};

/// What protobuf's own delimited writer produces for `packet`.
std::string delimited(const relay::Packet& packet) {
  std::ostringstream out;
  REQUIRE(google::protobuf::util::SerializeDelimitedToOstream(packet, &out));
  return out.str();
}

relay::Publish publish_of(const std::string& topic, std::size_t size) {
  relay::Publish publish;
  publish.set_topic(topic);
  publish.set_data(std::string(size, 'd'));
  return publish;
}

}  // namespace

TEST_CASE("envelope: a frame is protobuf's delimited Packet with the message's field set",
          "[generated][envelope]") {
  relay::Packet packet;
  relay::Hello hello;
  hello.set_client("c1");
  hello.add_topics("news");
  *packet.mutable_hello() = hello;
  std::string ours;
  REQUIRE_FALSE(relay::codec::append_frame(ours, relay::message_id<relay::Hello>::value, hello));
  CHECK(ours == delimited(packet));

  // A larger message (two-byte lengths inside and out) and field 15.
  const auto publish = publish_of("big", 300);
  *packet.mutable_publish() = publish;
  ours.clear();
  REQUIRE_FALSE(
      relay::codec::append_frame(ours, relay::message_id<relay::Publish>::value, publish));
  CHECK(ours == delimited(packet));
  relay::Ping ping;
  *packet.mutable_ping() = ping;  // empty: the payload is just the tag and a zero length
  ours.clear();
  REQUIRE_FALSE(relay::codec::append_frame(ours, 15, ping));
  CHECK(ours == delimited(packet));
  CHECK(ours == std::string("\x02\x7a\x00", 3));
}

TEST_CASE("envelope: typed sends write the same bytes as the codec", "[generated][envelope]") {
  const auto publish = publish_of("t", 200);
  std::string expected;
  REQUIRE_FALSE(relay::codec::append_frame(expected, 3, publish));
  const auto bytes =
      wiregen::frame_writer<relay::client_role, relay::Publish>(publish, {}).to_bytes();
  CHECK(std::string(bytes.begin(), bytes.end()) == expected);
}

TEST_CASE("envelope: a stream split at every byte boundary delivers every message once",
          "[generated][envelope]") {
  std::string stream;
  relay::Hello hello;
  hello.set_client("c");
  REQUIRE_FALSE(relay::codec::append_frame(stream, 1, hello));
  REQUIRE_FALSE(relay::codec::append_frame(stream, 3, publish_of("a", 150)));
  relay::Ping ping;
  ping.set_nonce(7);
  REQUIRE_FALSE(relay::codec::append_frame(stream, 15, ping));
  const std::vector<std::string> expected{"hello c", "publish a", "ping 7"};
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    relay_server handler;
    feeder f(std::make_shared<relay::server_dispatcher>(handler));
    REQUIRE_FALSE(f.feed(stream.substr(0, cut)).error);
    REQUIRE_FALSE(f.feed(stream.substr(cut)).error);
    REQUIRE(handler.seen == expected);
  }
}

TEST_CASE("envelope: an empty, foreign or unparsable envelope is reported",
          "[generated][envelope][errors]") {
  relay::Packet welcome_packet;
  welcome_packet.mutable_welcome()->set_session(1);
  const auto [bytes, expected] = GENERATE_COPY(
      // A Packet with no field set: nothing says which message it is.
      std::make_pair(std::string(1, '\0'), wiregen::error::unknown_message_id),
      // A field number the oneof does not have (field 9, length 0).
      std::make_pair(std::string("\x02\x4a\x00", 3), wiregen::error::unknown_message_id),
      // A Welcome, which only the server sends.
      std::make_pair(delimited(welcome_packet), wiregen::error::unexpected_message),
      // Not a Packet at all: a length-delimited field whose length runs out.
      std::make_pair(std::string("\x02\x0a\x05", 3), wiregen::error::payload_parse_failed));
  relay_server handler;
  feeder f(std::make_shared<relay::server_dispatcher>(handler));
  CHECK(f.feed(bytes).error == expected);
  CHECK(handler.seen.empty());
}

TEST_CASE("envelope: a server and client talk over loopback", "[generated][envelope]") {
  relay_server handler;
  relay::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  relay_client client_handler;
  relay::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  relay::Hello hello;
  hello.set_client("alice");
  REQUIRE_FALSE(client.send(hello));
  REQUIRE_FALSE(client.send(publish_of("news", 3)));
  relay::Ping ping;
  ping.set_nonce(41);
  REQUIRE_FALSE(client.send(ping));
  REQUIRE(client_handler.events.wait([&] { return client_handler.seen.size() == 3; }));
  CHECK(client_handler.seen ==
        std::vector<std::string>{"welcome 42", "delivery news ddd", "pong 42"});
  CHECK(handler.events.read([&] { return handler.errors.empty(); }));
}
