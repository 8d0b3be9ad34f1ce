// A layout without a MESSAGE_ID field: gRPC's message prefix (a compressed
// flag and a big-endian length). Each side sends one message type, so
// nothing on the wire names it.
#include "greeter.wiregen.h"

#include <catch2/catch.hpp>

#include <string>

#include "support/options.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

class greeter_server final : public greeter::server_handler {
 public:
  // The .proto's `service Greeter`: the reply is what SayHello returns.
  wiregen::call_result<greeter::HelloReply> SayHello(greeter::server_session&,
                                                     const greeter::HelloRequest& request,
                                                     const wiregen::frame_meta& meta) override {
    greeter::HelloReply reply;
    reply.set_message("hello, " + request.name());
    events.update([&] { flags.push_back(meta.flags); });
    return reply;
  }
  wiregen::error_action on_error(greeter::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return wiregen::error_action::disconnect;
  }
  wiregen::test::waiter events;
  std::vector<std::uint64_t> flags;
  std::vector<std::error_code> errors;
};

class greeter_client final : public greeter::client_handler {
 public:
  // A reply no call waits for (the test sends with send(), not SayHello()).
  void on_message(greeter::client_session&, const greeter::HelloReply& reply,
                  const wiregen::frame_meta&) override {
    events.update([&] { replies.push_back(reply.message()); });
  }
  wiregen::test::waiter events;
  std::vector<std::string> replies;
};

}  // namespace

TEST_CASE("no message id: frames are gRPC's length-prefixed messages, byte for byte",
          "[generated][greeter]") {
  greeter::HelloRequest request;
  request.set_name("wiregen");
  std::string frame;
  REQUIRE_FALSE(greeter::codec::append_frame(frame, 0, request));
  // flag 0, length 9 (big-endian), then field 1 (tag 0x0a), length 7, "wiregen".
  CHECK(frame == std::string("\x00\x00\x00\x00\x09\x0a\x07wiregen", 14));
  static_assert(greeter::framing::header_size == 5);

  greeter::frame_header header;
  REQUIRE_FALSE(
      greeter::codec::read_header(reinterpret_cast<const std::uint8_t*>(frame.data()), header));
  CHECK(header.payload_size == 9);
  CHECK(header.meta.flags == 0);
}

TEST_CASE("no message id: a server and client talk, and a hand-made gRPC frame is answered",
          "[generated][greeter]") {
  greeter_server handler;
  greeter::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  greeter_client client_handler;
  greeter::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  greeter::HelloRequest request;
  request.set_name("alice");
  REQUIRE_FALSE(client.send(request));
  REQUIRE(client_handler.events.wait([&] { return client_handler.replies.size() == 1; }));
  CHECK(client_handler.replies[0] == "hello, alice");

  // What any gRPC-style encoder writes, with the compressed flag set to 1
  // (which the handler sees in meta.flags).
  wiregen::test::raw_peer peer(server.port());
  peer.write(
      std::string("\x01\x00\x00\x00\x05\x0a\x03"
                  "bob",
                  10));
  std::error_code ec;
  const auto reply = peer.read(5 + 12, ec);
  INFO("server errors: " << handler.events.read([&] {
    return handler.errors.empty() ? std::string("none") : handler.errors[0].message();
  }));
  REQUIRE_FALSE(ec);
  CHECK(reply == std::string("\x00\x00\x00\x00\x0c\x0a\x0ahello, bob", 17));
  REQUIRE(handler.events.wait([&] { return handler.flags.size() == 2; }));
  CHECK(handler.flags[1] == 1);
}
