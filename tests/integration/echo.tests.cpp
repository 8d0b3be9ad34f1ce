// The echo protocol end to end over loopback: a real server, real clients.
#include "echo.wiregen.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/options.hpp"
#include "support/raw_peer.hpp"
#include "support/waiter.hpp"

namespace {

class echo_handler final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    session.send(reply);
  }
  void on_closed(bench::server_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    closed.update([&] { reasons.push_back(reason); });
  }
  wiregen::test::waiter closed;
  std::vector<std::error_code> reasons;
};

class counting_client final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    replies.update([&] {
      in_order = in_order && reply.seq() == received;
      payload_ok = payload_ok && reply.payload() == std::string(reply.seq() % 3000, 'p');
      ++received;
    });
  }
  wiregen::test::waiter replies;
  std::uint64_t received = 0;
  bool in_order = true;
  bool payload_ok = true;
};

}  // namespace

TEST_CASE("echo: several clients pipeline requests and get every reply in order",
          "[integration][echo]") {
  echo_handler handler;
  bench::server server(handler, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  REQUIRE(server.port() != 0);

  constexpr int clients = 4;
  constexpr std::uint64_t requests = 500;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<counting_client>> handlers;
  for (int i = 0; i < clients; ++i) {
    handlers.push_back(std::make_unique<counting_client>());
  }
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto& h = *handlers[static_cast<std::size_t>(i)];
      bench::client client(h);
      if (client.connect("localhost", server.port())) {
        return;
      }
      // All requests at once from this thread: they queue and leave in as
      // few writes as the socket allows.
      for (std::uint64_t seq = 0; seq < requests; ++seq) {
        bench::EchoRequest request;
        request.set_seq(seq);
        request.set_payload(std::string(seq % 3000, 'p'));
        if (client.session().send(request)) {
          return;
        }
      }
      h.replies.wait([&] { return h.received == requests; });
      client.stop(wiregen::stop_mode::graceful_wait);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (auto& h : handlers) {
    CHECK(h->received == requests);
    CHECK(h->in_order);
    CHECK(h->payload_ok);
  }
  CHECK(handler.closed.wait([&] { return handler.reasons.size() == clients; }));
  CHECK(server.stop(wiregen::stop_mode::graceful_wait) == 0);
  CHECK(server.connection_count() == 0);
}

TEST_CASE("echo: a hostile length field closes that connection without allocating it",
          "[integration][limits]") {
  echo_handler handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  wiregen::test::raw_peer attacker(server.port());
  attacker.write(std::string("\xff\xff\xff\xff\x00\x01", 6));
  CHECK(attacker.read_until_closed());
  REQUIRE(handler.closed.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == wiregen::error::frame_too_large);

  // The server still serves others.
  counting_client client_handler;
  bench::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  bench::EchoRequest request;
  request.set_seq(0);
  REQUIRE_FALSE(client.session().send(request));
  CHECK(client_handler.replies.wait([&] { return client_handler.received == 1; }));
}

TEST_CASE("echo: a good frame behind a complete request is answered before a bad one closes",
          "[integration][errors]") {
  echo_handler handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  bench::EchoRequest request;
  request.set_seq(7);
  std::string bytes;
  REQUIRE_FALSE(bench::codec::append_frame(bytes, 1, request));
  bytes += std::string("\x00\x00\x00\x02\x00\x09", 6);  // unknown id 9
  wiregen::test::raw_peer peer(server.port());
  peer.write(bytes);

  std::error_code ec;
  const auto reply_bytes = peer.read(bench::framing::header_size + 2, ec);
  REQUIRE_FALSE(ec);
  bench::frame_header header;
  REQUIRE_FALSE(
      bench::codec::read_header(reinterpret_cast<const std::uint8_t*>(reply_bytes.data()), header));
  CHECK(header.message_id == bench::message_id<bench::EchoReply>::value);
  CHECK(peer.read_until_closed());
  REQUIRE(handler.closed.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == wiregen::error::unknown_message_id);
}

TEST_CASE("echo: a peer that half-closes still gets every reply, then an orderly close",
          "[integration][echo]") {
  echo_handler handler;
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  std::string bytes;
  for (std::uint64_t seq = 0; seq < 100; ++seq) {
    bench::EchoRequest request;
    request.set_seq(seq);
    request.set_payload(std::string(1000, 'x'));
    REQUIRE_FALSE(bench::codec::append_frame(bytes, 1, request));
  }
  wiregen::test::raw_peer peer(server.port());
  peer.write(bytes);
  peer.shutdown_send();
  std::error_code ec;
  const auto replies = peer.read(bytes.size(), ec);  // replies are the same size as requests
  CHECK_FALSE(ec);
  CHECK(replies.size() == bytes.size());
  CHECK(peer.read_until_closed() == asio::error::eof);
  REQUIRE(handler.closed.wait([&] { return handler.reasons.size() == 1; }));
  CHECK(handler.reasons[0] == asio::error::eof);
}

TEST_CASE("echo: listen reports a port in use, connect reports a refused dial",
          "[integration][errors]") {
  echo_handler handler;
  bench::server first(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(first.listen("127.0.0.1", 0));
  bench::server second(handler, wiregen::test::with_threads(1));
  CHECK(second.listen("127.0.0.1", first.port()) == asio::error::address_in_use);

  const auto port = first.port();
  first.stop(wiregen::stop_mode::immediate);
  counting_client client_handler;
  bench::client client(client_handler);
  CHECK(client.connect("127.0.0.1", port) == asio::error::connection_refused);
  CHECK(client.session().send(bench::EchoRequest()) == wiregen::error::not_connected);
}
