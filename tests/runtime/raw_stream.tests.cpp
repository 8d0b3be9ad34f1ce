// RAW protocols (schema/examples/tunnel): bytes to on_data as they arrive,
// bytes out as sent, over TCP, TLS and UDP; pause_reading holding a peer
// back; a peer that writes without reading held by TCP, not by the server.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "support/test_certs.hpp"
#include "support/waiter.hpp"
#include "tunnel.wiregen.h"

using namespace std::chrono_literals;
using wiregen::test::waiter;

namespace {

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  std::uint32_t state = 0x9e3779b9u;
  for (char& c : bytes) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  return bytes;
}

std::span<const std::uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// Echoes what arrives, as the example does: when the queue is full, it
/// pauses the peer and queues the bytes once there is room. Records the
/// most the queue ever held and how often it paused.
class echo_handler final : public tunnel::server_handler {
 public:
  std::atomic<std::size_t> most_queued{0};
  std::atomic<int> pauses{0};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<int> empty_reads{0};
  waiter events;
  std::vector<tunnel::server_session> sessions;

  void on_connected(tunnel::server_session& session) override {
    events.update([&] { sessions.push_back(session); });
  }
  void on_data(tunnel::server_session& session, std::span<const std::uint8_t> data) override {
    if (data.empty()) {
      empty_reads.fetch_add(1);
    }
    reads.fetch_add(1);
    if (session.send(data) == wiregen::error::send_queue_full) {
      pauses.fetch_add(1);
      session.pause_reading(true);
      session.async_send(data, [session](std::error_code) { session.pause_reading(false); });
    }
    const std::size_t queued = session.stats().queued_bytes;
    std::size_t seen = most_queued.load();
    while (queued > seen && !most_queued.compare_exchange_weak(seen, queued)) {
    }
    events.update([] {});
  }
};

/// Collects what the server sends.
class collecting_client final : public tunnel::client_handler {
 public:
  waiter events;
  std::string received;

  void on_data(tunnel::client_session& /*session*/, std::span<const std::uint8_t> data) override {
    events.update([&] { received.append(data.begin(), data.end()); });
  }
  bool wait_for(std::size_t size) {
    return events.wait([&] { return received.size() >= size; }, 30s);
  }
};

}  // namespace

TEST_CASE("raw streams: bytes echo unframed between a server and a client, over TCP and TLS",
          "[runtime][raw]") {
  const bool tls = GENERATE(false, true);
  CAPTURE(tls);
  echo_handler handler;
  wiregen::server_options options;
  options.io_threads = 1;
  wiregen::client_options client_options;
  if (tls) {
    options.tls.emplace();
    options.tls->certificate_chain_file = wiregen::test::certs().server_chain;
    options.tls->private_key_file = wiregen::test::certs().server_key;
    client_options.tls.emplace();
    client_options.tls->ca_file = wiregen::test::certs().ca;
    client_options.tls->server_name = "localhost";
  }
  tunnel::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  collecting_client collector;
  tunnel::client client(collector, client_options);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  // Bytes no framing could carry unescaped, then a megabyte that arrives in
  // many reads: what comes back is the same bytes in the same order.
  const std::string greeting("hello\n\0\xff\r\n", 10);
  const std::string bulk = pattern(1 << 20);
  REQUIRE_FALSE(client.send(greeting));
  REQUIRE_FALSE(client.send(as_bytes(bulk)));
  REQUIRE(client.send(std::string_view()) == std::error_code());  // nothing to send
  REQUIRE(collector.wait_for(greeting.size() + bulk.size()));
  collector.events.read([&] {
    REQUIRE(collector.received.size() == greeting.size() + bulk.size());
    CHECK(collector.received == greeting + bulk);
  });
  const auto session = handler.events.read([&] { return handler.sessions.at(0); });
  CHECK(session.stats().frames_received == handler.reads.load());  // a frame is one read
  CHECK(handler.empty_reads.load() == 0);
  CHECK(session.stats().bytes_received == greeting.size() + bulk.size());
  CHECK(session.tagged_remote_address().ends_with(tls ? "(tcp+tls)" : "(tcp)"));
  client.stop();
  server.stop(wiregen::stop_mode::graceful_wait, 5s);
}

TEST_CASE("raw streams: a peer that writes without reading is held back by TCP, not buffered",
          "[runtime][raw][backpressure]") {
  echo_handler handler;
  wiregen::server_options options;
  options.io_threads = 1;
  options.connection.max_queued_bytes = 256 * 1024;
  options.connection.low_watermark = 64 * 1024;
  tunnel::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  // 16 MiB, far more than the queue and the kernel's buffers hold: the
  // writer can finish only because the reader below drains the echo.
  const std::string sent = pattern(16 << 20);
  asio::io_context context;
  asio::ip::tcp::socket peer(context);
  peer.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  // Written with send(2) on the descriptor: the socket object stays the
  // reading thread's alone.
  int write_error = 0;
  std::thread writer([&, fd = peer.native_handle()] {
    for (std::size_t done = 0; done < sent.size();) {
      const ssize_t n = ::send(fd, sent.data() + done, sent.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        write_error = errno;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  });

  // The server's queue filled and it paused reading this peer.
  REQUIRE(handler.events.wait([&] { return handler.pauses.load() > 0; }, 30s));
  const auto session = handler.events.read([&] { return handler.sessions.at(0); });
  CHECK(session.stats().queued_bytes <= options.connection.max_queued_bytes);

  std::string echoed(sent.size(), '\0');
  std::error_code read_error;
  const std::size_t got = asio::read(peer, asio::buffer(echoed), read_error);
  writer.join();
  REQUIRE(write_error == 0);
  REQUIRE_FALSE(read_error);
  REQUIRE(got == sent.size());
  CHECK(echoed == sent);
  // The queue never held more than its bound: the rest waited in the peer's
  // socket while reading was paused (one chunk at most waits for room).
  CHECK(handler.most_queued.load() <= options.connection.max_queued_bytes);
  CHECK(session.stats().frames_dropped == static_cast<std::uint64_t>(handler.pauses.load()));
  server.stop(wiregen::stop_mode::graceful_wait, 5s);
}

TEST_CASE("raw streams: pause_reading holds a peer's bytes until it is resumed", "[runtime][raw]") {
  // A handler that pauses every connection as it opens.
  class paused_handler final : public tunnel::server_handler {
   public:
    waiter events;
    std::vector<tunnel::server_session> sessions;
    std::vector<std::string> data;  // per connection, by open order
    bool resumed = false;
    bool early = false;  // the first connection's bytes came before it was resumed

    void on_connected(tunnel::server_session& session) override {
      session.pause_reading(true);
      events.update([&] {
        sessions.push_back(session);
        data.emplace_back();
      });
    }
    void on_data(tunnel::server_session& session, std::span<const std::uint8_t> bytes) override {
      events.update([&] {
        const auto at = std::find(sessions.begin(), sessions.end(), session) - sessions.begin();
        early = early || (at == 0 && !resumed);
        data.at(static_cast<std::size_t>(at)).append(bytes.begin(), bytes.end());
      });
    }
  } handler;
  wiregen::server_options options;
  options.io_threads = 1;
  tunnel::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  asio::io_context context;
  asio::ip::tcp::socket first(context);
  first.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 1; }));
  asio::write(first, asio::buffer(std::string("held back")));

  // A second connection, resumed at once, shows the server's one thread went
  // past the first one's readable bytes without dispatching them.
  asio::ip::tcp::socket second(context);
  second.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  REQUIRE(handler.events.wait([&] { return handler.sessions.size() == 2; }));
  handler.sessions[1].pause_reading(false);
  asio::write(second, asio::buffer(std::string("goes through")));
  REQUIRE(handler.events.wait([&] { return handler.data[1] == "goes through"; }));
  handler.events.read([&] { CHECK(handler.data[0].empty()); });
  CHECK(handler.sessions[0].stats().bytes_received == 0);

  handler.events.update([&] { handler.resumed = true; });
  handler.sessions[0].pause_reading(false);
  REQUIRE(handler.events.wait([&] { return handler.data[0] == "held back"; }));
  handler.events.read([&] { CHECK_FALSE(handler.early); });
  server.stop(wiregen::stop_mode::graceful_wait, 5s);
}

TEST_CASE("raw streams: over UDP each datagram is one on_data and one send one datagram",
          "[runtime][raw][udp]") {
  echo_handler handler;
  tunnel::datagram_server server(handler);
  REQUIRE_FALSE(server.bind("127.0.0.1", 0));
  collecting_client collector;
  tunnel::datagram_client client(collector);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  REQUIRE_FALSE(client.send(std::string_view("one datagram")));
  REQUIRE(collector.wait_for(12));
  collector.events.read([&] { CHECK(collector.received == "one datagram"); });
  CHECK(handler.reads.load() == 1);
}
