// An exception from any of a server handler's callbacks, over loopback: each
// is handled as docs/runtime.md §7 says (reported, that one connection
// closed or refused, or swallowed), never reaches an event loop, and the
// server goes on serving a new client.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/gate.hpp"
#include "support/raw_peer.hpp"

using namespace std::chrono_literals;
using wiregen::error_action;
using wiregen::server_counts;
using wiregen::server_state;
using wiregen::socket_address;
using wiregen::test::gate;
using wiregen::test::reply_counter;
using wiregen::test::waiter;

namespace {

enum class callback {
  on_connected,
  on_accept,
  on_error,
  on_writability_changed,
  on_closed,
  on_refused,
  on_server_state,
  on_listen_error,
};

/// Echoes, records every event, and throws once from the callback it was
/// told to: the first connection meets the exception, later ones do not.
class throwing_server final : public bench::server_handler {
 public:
  explicit throwing_server(callback where) : where_(where) {}

  bool on_accept(const asio::ip::tcp::endpoint&) override {
    throw_if(callback::on_accept);
    return true;
  }

  void on_connected(bench::server_session&) override {
    events.update([&] { ++connected; });
    throw_if(callback::on_connected);
  }

  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    if (request.payload() == "flood") {
      // More than the queue holds for a peer that does not read: the
      // connection turns unwritable.
      for (std::uint64_t seq = 0; seq < 64; ++seq) {
        (void)session.send(wiregen::test::reply_of(seq, 32 * 1024));
      }
      return;
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    (void)session.send(reply);
  }

  error_action on_error(bench::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    throw_if(callback::on_error);
    return error_action::skip;
  }

  void on_writability_changed(bench::server_session&, bool writable) override {
    events.update([&] { writability.push_back(writable); });
    throw_if(callback::on_writability_changed);
  }

  void on_closed(bench::server_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    events.update([&] { reasons.push_back(reason); });
    throw_if(callback::on_closed);
  }

  void on_refused(const asio::ip::tcp::endpoint&, std::error_code reason) override {
    events.update([&] { refusals.push_back(reason); });
    throw_if(callback::on_refused);
  }

  void on_server_state(server_state state, const server_counts&) override {
    events.update([&] { states.push_back(state); });
    throw_if(callback::on_server_state);
  }

  void on_listen_error(const socket_address&, std::error_code ec) override {
    events.update([&] { listen_errors.push_back(ec); });
    throw_if(callback::on_listen_error);
  }

  bool wait_closed(std::size_t n) {
    return events.wait([&] { return reasons.size() >= n; });
  }

  waiter events;
  int connected = 0;
  std::vector<std::error_code> errors;
  std::vector<bool> writability;
  std::vector<std::error_code> reasons;
  std::vector<std::error_code> refusals;
  std::vector<server_state> states;
  std::vector<std::error_code> listen_errors;

 private:
  void throw_if(callback here) {
    if (here == where_ && armed_.exchange(false)) {
      throw std::runtime_error("a bug in the handler");
    }
  }

  callback where_;
  std::atomic<bool> armed_{true};
};

/// A new client connects and gets its echo: the server survived.
bool still_echoes(bench::server& server) {
  reply_counter counter;
  bench::client client(counter);
  return !client.connect("127.0.0.1", server.port()) && !client.send(bench::EchoRequest()) &&
         counter.wait_received(1);
}

/// A client that connects and waits for the server to close it.
std::error_code closed_by_server(bench::server& server) {
  reply_counter counter;
  bench::client client(counter);
  if (const auto ec = client.connect("127.0.0.1", server.port())) {
    return ec;
  }
  if (!counter.events.wait([&] { return !counter.reasons.empty(); })) {
    return std::make_error_code(std::errc::timed_out);
  }
  return {};
}

}  // namespace

TEST_CASE("callback exceptions: on_connected closes that connection with handler_failed",
          "[runtime][server][errors]") {
  throwing_server handler(callback::on_connected);
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  CHECK_FALSE(closed_by_server(server));
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.events.read([&] { return handler.errors; }) ==
        std::vector<std::error_code>{wiregen::error::handler_failed});
  CHECK(handler.events.read([&] { return handler.reasons[0]; }) == wiregen::error::handler_failed);
  CHECK(still_echoes(server));
  CHECK(server.is_running());
}

TEST_CASE("callback exceptions: on_accept and socket_hook refuse that connection",
          "[runtime][server][errors]") {
  SECTION("on_accept") {
    throwing_server handler(callback::on_accept);
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK_FALSE(closed_by_server(server));
    REQUIRE(handler.events.wait([&] { return !handler.refusals.empty(); }));
    CHECK(handler.events.read([&] { return handler.refusals[0]; }) ==
          wiregen::error::handler_failed);
    CHECK(still_echoes(server));
    // Refused, never served: no on_connected, no on_closed for it.
    CHECK(handler.events.read([&] { return handler.connected; }) == 1);
    CHECK(server.is_running());
  }
  SECTION("socket_hook") {
    throwing_server handler(callback::on_accept);  // armed elsewhere: never throws here
    std::atomic<bool> armed{true};
    auto options = wiregen::test::with_threads(1);
    options.socket_hook = [&](wiregen::stream_socket&) -> std::error_code {
      if (armed.exchange(false)) {
        throw std::runtime_error("a bug in the hook");
      }
      return {};
    };
    bench::server server(handler, options);
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK_FALSE(closed_by_server(server));
    REQUIRE(handler.events.wait([&] { return !handler.refusals.empty(); }));
    CHECK(handler.events.read([&] { return handler.refusals[0]; }) ==
          wiregen::error::handler_failed);
  }
}

TEST_CASE("callback exceptions: on_error counts as disconnect", "[runtime][server][errors]") {
  throwing_server handler(callback::on_error);
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  // A frame with an unknown message id (9): on_error would say skip, but throws.
  wiregen::test::raw_peer peer(server.port());
  peer.write(std::string("\x00\x00\x00\x02\x00\x09", 6));
  CHECK(peer.read_until_closed() == asio::error::eof);
  REQUIRE(handler.wait_closed(1));
  CHECK(handler.events.read([&] { return handler.errors; }) ==
        std::vector<std::error_code>{wiregen::error::unknown_message_id});
  // The connection closes because the handler failed, not for the frame.
  CHECK(handler.events.read([&] { return handler.reasons[0]; }) == wiregen::error::handler_failed);
  // Without the throw, the same frame is skipped and the connection stays:
  // an EchoRequest{seq: 5} behind it is answered.
  wiregen::test::raw_peer second(server.port());
  second.write(std::string("\x00\x00\x00\x02\x00\x09", 6) +
               std::string("\x00\x00\x00\x04\x00\x01\x08\x05", 8));
  std::error_code ec;
  CHECK(second.read(8, ec) == std::string("\x00\x00\x00\x04\x00\x02\x08\x05", 8));
  CHECK_FALSE(ec);
  CHECK(handler.events.read([&] { return handler.errors.size(); }) == 2);
  CHECK(still_echoes(server));
}

TEST_CASE("callback exceptions: on_writability_changed closes that connection with handler_failed",
          "[runtime][server][errors]") {
  throwing_server handler(callback::on_writability_changed);
  // 2 MiB of replies for a 1 MiB queue, small socket buffers, and a client
  // that reads one reply: the queue stays above its low watermark (256 KiB).
  bench::server server(handler, wiregen::test::small_queue_server(1024 * 1024));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  gate held;
  reply_counter counter;
  counter.hold = &held;  // reads one reply, then stops reading
  bench::client client(counter, wiregen::test::small_buffer_client());
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  bench::EchoRequest flood;
  flood.set_payload("flood");
  REQUIRE_FALSE(client.send(flood));
  REQUIRE(handler.wait_closed(1));
  held.open();
  CHECK(handler.events.read([&] { return handler.writability; }) == std::vector<bool>{false});
  CHECK(handler.events.read([&] { return handler.errors; }) ==
        std::vector<std::error_code>{wiregen::error::handler_failed});
  CHECK(handler.events.read([&] { return handler.reasons[0]; }) == wiregen::error::handler_failed);
  CHECK(still_echoes(server));
}

TEST_CASE(
    "callback exceptions: on_closed, on_refused, on_server_state and on_listen_error are "
    "swallowed",
    "[runtime][server][errors]") {
  SECTION("on_closed") {
    throwing_server handler(callback::on_closed);
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK(still_echoes(server));  // its close throws
    REQUIRE(handler.wait_closed(1));
    CHECK(handler.events.read([&] { return handler.reasons[0]; }) == asio::error::eof);
    CHECK(still_echoes(server));
    CHECK(server.stop() == 0);
  }
  SECTION("on_refused") {
    throwing_server handler(callback::on_refused);
    auto options = wiregen::test::with_threads(1);
    options.max_connections = 1;
    bench::server server(handler, options);
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    reply_counter first_counter;
    bench::client first(first_counter);
    REQUIRE_FALSE(first.connect("127.0.0.1", server.port()));
    REQUIRE(handler.events.wait([&] { return handler.connected == 1; }));
    CHECK_FALSE(closed_by_server(server));  // refused: too many connections
    REQUIRE(handler.events.wait([&] { return handler.refusals.size() == 1; }));
    first.stop();
    REQUIRE(handler.wait_closed(1));
    // on_closed runs before the server stops counting the connection.
    REQUIRE(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));
    CHECK(still_echoes(server));
  }
  SECTION("on_server_state") {
    throwing_server handler(callback::on_server_state);
    bench::server server(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));  // "running" throws
    CHECK(still_echoes(server));
    CHECK(server.stop() == 0);
    CHECK(handler.events.read([&] { return handler.states; }) ==
          std::vector<server_state>{server_state::running, server_state::draining,
                                    server_state::stopped});
  }
  SECTION("on_listen_error") {
    throwing_server handler(callback::on_listen_error);
    bench::server taken(handler, wiregen::test::with_threads(1));
    REQUIRE_FALSE(taken.listen("127.0.0.1", 0));
    bench::server server(handler, wiregen::test::with_threads(1));
    CHECK(server.listen("127.0.0.1", taken.port()) == asio::error::address_in_use);
    CHECK(handler.events.read([&] { return handler.listen_errors; }) ==
          std::vector<std::error_code>{asio::error::address_in_use});
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    CHECK(still_echoes(server));
  }
}
