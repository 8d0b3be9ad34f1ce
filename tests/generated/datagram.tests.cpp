// The same generated dispatch and handlers over UDP: one frame per
// datagram, replies to the sender's address, a maximum datagram size with
// truncation detected, and datagrams that are not exactly one good frame.
#include "beacon.wiregen.h"
#include "echo.wiregen.h"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/waiter.hpp"

namespace {

class udp_echo final : public bench::server_handler {
 public:
  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    const auto ec = session.send(reply);
    events.update([&] {
      senders.push_back(session.remote_address());
      tagged.push_back(session.tagged_remote_address());
      locals.push_back(session.local_address());
      send_results.push_back(ec);
    });
  }
  wiregen::error_action on_error(bench::server_session& session, std::error_code ec) override {
    events.update([&] {
      errors.push_back(ec);
      error_senders.push_back(session.remote_address());
    });
    return wiregen::error_action::disconnect;
  }
  wiregen::test::waiter events;
  std::vector<std::string> senders;
  std::vector<std::string> tagged;
  std::vector<std::string> locals;
  std::vector<std::error_code> send_results;
  std::vector<std::error_code> errors;
  std::vector<std::string> error_senders;
};

class udp_echo_client final : public bench::client_handler {
 public:
  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    events.update([&] { replies.emplace_back(reply.seq(), reply.payload()); });
  }
  wiregen::test::waiter events;
  std::vector<std::pair<std::uint64_t, std::string>> replies;
};

bench::EchoRequest request_of(std::uint64_t seq, std::size_t size) {
  bench::EchoRequest request;
  request.set_seq(seq);
  request.set_payload(std::string(size, static_cast<char>('a' + seq % 26)));
  return request;
}

std::string frame_of(const bench::EchoRequest& request) {
  std::string frame;
  REQUIRE_FALSE(bench::codec::append_frame(frame, 1, request));
  return frame;
}

/// A UDP socket that shares no code with wiregen, for hand-made datagrams.
class raw_udp {
 public:
  /// Bound to `local` (another loopback address makes another source).
  explicit raw_udp(const char* local = "0.0.0.0")
      : socket_(context_, asio::ip::udp::endpoint(asio::ip::make_address(local), 0)) {}
  void send(const std::string& datagram, std::uint16_t port) {
    socket_.send_to(asio::buffer(datagram),
                    asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  /// One datagram, waiting at most 5 s (then empty).
  std::string receive() {
    std::string datagram(70000, '\0');
    asio::ip::udp::endpoint from;
    std::size_t size = 0;
    bool done = false;
    socket_.async_receive_from(asio::buffer(datagram), from,
                               [&](std::error_code ec, std::size_t n) {
                                 size = ec ? 0 : n;
                                 done = true;
                               });
    context_.restart();
    context_.run_for(std::chrono::seconds(5));
    if (!done) {
      socket_.cancel();
      context_.restart();
      context_.run();
    }
    datagram.resize(size);
    return datagram;
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  asio::io_context context_;
  asio::ip::udp::socket socket_;
};

}  // namespace

TEST_CASE("udp: a 100-byte echo between a generated datagram client and server",
          "[generated][udp]") {
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  REQUIRE(server.port() != 0);

  udp_echo_client client_handler;
  bench::datagram_client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(request_of(7, 100)));
  REQUIRE(client_handler.events.wait([&] { return client_handler.replies.size() == 1; }));
  CHECK(client_handler.replies[0] == std::make_pair(std::uint64_t{7}, std::string(100, 'h')));
  // The server records its send's outcome after the reply is on its way.
  REQUIRE(handler.events.wait([&] { return handler.send_results.size() == 1; }));
  CHECK_FALSE(handler.send_results[0]);
}

TEST_CASE("udp: each reply goes back to the address its request came from", "[generated][udp]") {
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  raw_udp first;
  raw_udp second;
  first.send(frame_of(request_of(1, 10)), server.port());
  second.send(frame_of(request_of(2, 20)), server.port());

  bench::EchoReply reply;
  const std::string to_first = first.receive();
  REQUIRE(to_first.size() > bench::framing::header_size);
  REQUIRE(reply.ParseFromString(to_first.substr(bench::framing::header_size)));
  CHECK(reply.seq() == 1);
  const std::string to_second = second.receive();
  REQUIRE(reply.ParseFromString(to_second.substr(bench::framing::header_size)));
  CHECK(reply.seq() == 2);
  REQUIRE(handler.events.wait([&] { return handler.senders.size() == 2; }));
  CHECK(handler.events.read([&] { return handler.senders; }) ==
        std::vector<std::string>{"127.0.0.1:" + std::to_string(first.port()),
                                 "127.0.0.1:" + std::to_string(second.port())});
  CHECK(handler.events.read([&] { return handler.tagged.front(); }) ==
        "127.0.0.1:" + std::to_string(first.port()) + "(udp)");
  CHECK(handler.events.read([&] { return handler.locals.front(); }) ==
        "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("udp: a datagram over the maximum size is reported truncated and dropped",
          "[generated][udp][limits]") {
  udp_echo handler;
  wiregen::datagram_options options;
  options.max_datagram_size = 256;
  bench::datagram_server server(handler, options);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  raw_udp peer;

  peer.send(frame_of(request_of(1, 1000)), server.port());  // 1000+ bytes > 256
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 1; }));
  CHECK(handler.errors[0] == wiregen::error::datagram_truncated);
  CHECK(handler.error_senders[0] == "127.0.0.1:" + std::to_string(peer.port()));

  // A datagram of exactly the maximum passes: 6 header + 250 payload bytes.
  auto request = request_of(2, 0);
  request.set_payload(std::string(250 - request.ByteSizeLong() - 3, 'x'));
  const std::string exact = frame_of(request);
  REQUIRE(exact.size() == 256);
  peer.send(exact, server.port());
  CHECK(peer.receive().size() == 256);

  // A reply too large for the client's own limit is refused before it is sent.
  udp_echo_client client_handler;
  bench::datagram_client client(client_handler, options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  CHECK(client.send(request_of(3, 300)) == wiregen::error::message_too_large);
}

TEST_CASE("udp: a source over its rate is dropped and reported; other sources are served",
          "[generated][udp][limits]") {
  // Sources can be forged: without a limit per source, the server's replies
  // could be reflected at one victim as fast as anyone can send.
  udp_echo handler;
  wiregen::datagram_options options;
  options.rate_per_source = 0.001;  // after the burst, one datagram in 1,000 s
  options.burst_per_source = 5;
  bench::datagram_server server(handler, options);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  raw_udp flood;  // from 127.0.0.1
  for (std::uint64_t seq = 0; seq < 12; ++seq) {
    flood.send(frame_of(request_of(seq, 10)), server.port());
  }
  REQUIRE(
      handler.events.wait([&] { return handler.senders.size() + handler.errors.size() == 12; }));
  CHECK(handler.senders.size() == 5);
  CHECK(handler.errors == std::vector<std::error_code>(7, wiregen::error::message_rate_exceeded));
  raw_udp other("127.0.0.2");  // another source has a bucket of its own
  other.send(frame_of(request_of(100, 10)), server.port());
  CHECK_FALSE(other.receive().empty());
}

TEST_CASE("udp: a datagram that is not exactly one good frame is reported and dropped",
          "[generated][udp][errors]") {
  const std::string good = frame_of(request_of(5, 30));
  const auto [bytes, expected] = GENERATE_COPY(
      std::make_pair(good.substr(0, good.size() - 1), wiregen::error::truncated_frame),
      std::make_pair(good.substr(0, 3), wiregen::error::truncated_frame),
      std::make_pair(good + "x", wiregen::error::trailing_bytes),
      std::make_pair(std::string("\x00\x00\x00\x02\x00\x09", 6),
                     wiregen::error::unknown_message_id),
      std::make_pair(std::string("\x00\x00\x00\x02\x00\x02", 6),
                     wiregen::error::unexpected_message));
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  raw_udp peer;
  peer.send(bytes, server.port());
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 1; }));
  CHECK(handler.errors[0] == expected);
  // The server goes on with the next datagram.
  peer.send(good, server.port());
  CHECK_FALSE(peer.receive().empty());
}

TEST_CASE("udp: varint headers and a checksum travel in datagrams too", "[generated][udp]") {
  class beacon_server final : public fleet::beacon::server_handler {
   public:
    void on_message(fleet::beacon::server_session& session, const fleet::beacon::Reading&,
                    const wiregen::frame_meta& meta) override {
      fleet::beacon::Ack ack;
      ack.set_accepted(1);
      (void)session.send(ack, meta);
    }
    wiregen::error_action on_error(fleet::beacon::server_session&, std::error_code ec) override {
      events.update([&] { errors.push_back(ec); });
      return wiregen::error_action::disconnect;
    }
    wiregen::test::waiter events;
    std::vector<std::error_code> errors;
  } handler;
  class beacon_client final : public fleet::beacon::client_handler {
   public:
    void on_message(fleet::beacon::client_session&, const fleet::beacon::Ack&,
                    const wiregen::frame_meta& meta) override {
      events.update([&] { acked.push_back(meta.request_id); });
    }
    void on_message(fleet::beacon::client_session&, const fleet::beacon::Command&,
                    const wiregen::frame_meta&) override {}
    wiregen::test::waiter events;
    std::vector<std::uint64_t> acked;
  } client_handler;

  fleet::beacon::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  fleet::beacon::datagram_client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  fleet::beacon::Reading reading;
  reading.set_device("d");
  wiregen::frame_meta meta;
  meta.request_id = 300;
  REQUIRE_FALSE(client.send(reading, meta));
  REQUIRE(client_handler.events.wait([&] { return client_handler.acked.size() == 1; }));
  CHECK(client_handler.acked[0] == 300);

  // A flipped bit fails the checksum and is reported.
  std::string frame;
  REQUIRE_FALSE(fleet::beacon::codec::append_frame(frame, 1, reading, meta));
  frame[frame.size() - 6] = static_cast<char>(frame[frame.size() - 6] ^ 0x04);
  raw_udp peer;
  peer.send(frame, server.port());
  REQUIRE(handler.events.wait([&] { return handler.errors.size() == 1; }));
  CHECK(handler.errors[0] == wiregen::error::checksum_mismatch);
}

TEST_CASE("udp: stop closes the socket, kept sessions fail, the endpoint stays stopped",
          "[generated][udp][lifecycle]") {
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  udp_echo_client client_handler;
  bench::datagram_client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  const auto session = client.session();
  CHECK(session.is_open());
  client.stop();
  client.stop();
  CHECK_FALSE(session.is_open());
  CHECK(client.send(request_of(1, 1)) == wiregen::error::connection_closed);
  server.stop();
  CHECK(server.bind("127.0.0.1", 0) == wiregen::error::stopped);
}

TEST_CASE("udp: a session may outlive its endpoint, and a second connect is refused",
          "[generated][udp][lifecycle]") {
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  bench::client_session kept;
  {
    udp_echo_client client_handler;
    bench::datagram_client client(client_handler);
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
    CHECK(client.connect("127.0.0.1", server.port()) == asio::error::already_open);
    kept = client.session();
  }
  // The socket (and what it was made on) lives as long as the session.
  CHECK_FALSE(kept.is_open());
  CHECK(kept.send(request_of(1, 1)) == wiregen::error::connection_closed);
}

TEST_CASE("udp: a client's session may be asked for while connect() runs on another thread",
          "[generated][udp][threads]") {
  udp_echo handler;
  bench::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  udp_echo_client client_handler;
  bench::datagram_client client(client_handler);
  std::atomic<bool> connected{false};
  std::error_code dialed;
  std::thread dialer([&] {
    dialed = client.connect("127.0.0.1", server.port());
    connected.store(true);
  });
  // session() reads the server's address while connect() sets it: a data
  // race (ThreadSanitizer's run reports it) until both took the lock.
  while (!connected.load()) {
    (void)client.session().is_open();
  }
  dialer.join();
  REQUIRE_FALSE(dialed);
  REQUIRE_FALSE(client.session().send(request_of(3, 10)));
  REQUIRE(client_handler.events.wait([&] { return client_handler.replies.size() == 1; }));
}
