// A server's metrics over loopback: connections accepted, refused and closed
// by reason, frames and bytes of closed and open connections, and the
// Prometheus text a scrape gets, checked by Prometheus's own promtool.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/bench_peers.hpp"
#include "support/promtool.hpp"
#include "support/raw_peer.hpp"
#include "wiregen/server_metrics.hpp"

using wiregen::test::recording_server;
using wiregen::test::reply_counter;

namespace {

std::map<std::string, std::uint64_t> by_reason(const std::vector<wiregen::reason_count>& counts) {
  std::map<std::string, std::uint64_t> found;
  for (const auto& [reason, count] : counts) {
    found.emplace(reason, count);
  }
  return found;
}

bool echoes(bench::client& client, reply_counter& counter, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    if (client.send(bench::EchoRequest())) {
      return false;
    }
  }
  return counter.wait_received(n);
}

/// A server that has seen each kind of event once or more.
struct busy_server {
  busy_server() : server(handler, options()) {
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    {
      reply_counter counter;
      bench::client client(counter);
      REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
      REQUIRE(echoes(client, counter, 3));
    }  // closed by the client: eof
    // One connection at most: the server lets go of it (after on_closed) first.
    REQUIRE(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));
    {
      wiregen::test::raw_peer peer(server.port());
      peer.write(std::string("\x00\x00\x00\x02\x00\x09", 6));  // an unknown id
      REQUIRE(peer.read_until_closed() == asio::error::eof);
    }
    REQUIRE(handler.wait_closed(2));
    REQUIRE(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));
    REQUIRE_FALSE(held.connect("127.0.0.1", server.port()));
    REQUIRE(echoes(held, held_counter, 2));
    // The second connection is one too many.
    reply_counter refused_counter;
    bench::client refused(refused_counter);
    (void)refused.connect("127.0.0.1", server.port());
    REQUIRE(wiregen::test::poll_until([&] { return !server.metrics().refused.empty(); }));
  }

  static wiregen::server_options options() {
    auto o = wiregen::test::with_threads(1);
    o.max_connections = 1;
    return o;
  }

  recording_server handler;
  bench::server server;
  reply_counter held_counter;
  bench::client held{held_counter};
};

}  // namespace

TEST_CASE("metrics: connections accepted, refused and closed by reason, frames of all of them",
          "[runtime][metrics]") {
  busy_server busy;
  // The open connection counts a reply once written, which may be just
  // after its client has read it.
  REQUIRE(wiregen::test::poll_until([&] { return busy.server.metrics().frames_sent == 5; }));
  const auto m = busy.server.metrics();
  CHECK(m.state == wiregen::server_state::running);
  CHECK(m.accepted == 3);
  CHECK(m.open_connections == 1);
  CHECK(by_reason(m.refused) == std::map<std::string, std::uint64_t>{{"too_many_connections", 1}});
  CHECK(by_reason(m.closed) ==
        std::map<std::string, std::uint64_t>{{"eof", 1}, {"unknown_message_id", 1}});
  // Three echoes on a closed connection and two on the open one.
  CHECK(m.frames_received == 5);
  CHECK(m.frames_sent == 5);
  CHECK(m.bytes_sent == 5 * 6 + 0);  // empty replies: a 6-byte header each
  CHECK(m.bytes_received >= 5 * 6 + 6);
  CHECK(m.frames_dropped == 0);

  busy.server.stop();
  const auto after = busy.server.metrics();
  CHECK(after.state == wiregen::server_state::stopped);
  CHECK(after.open_connections == 0);
  CHECK(by_reason(after.closed).at("none") == 1);  // stopped by this side
  CHECK(after.frames_sent == 5);
}

TEST_CASE("metrics: the Prometheus text has every family and passes promtool check metrics",
          "[runtime][metrics]") {
  busy_server busy;
  REQUIRE(wiregen::test::poll_until([&] { return busy.server.metrics().frames_sent == 5; }));
  std::string text;
  wiregen::write_prometheus(busy.server.metrics(), text);
  INFO(text);
  for (const auto* line :
       {"# TYPE wiregen_connections_accepted_total counter\n",
        "wiregen_connections_accepted_total 3\n", "wiregen_connections_open 1\n",
        "wiregen_server_state{state=\"running\"} 1\n", "wiregen_server_state{state=\"idle\"} 0\n",
        "wiregen_connections_refused_total{reason=\"too_many_connections\"} 1\n",
        "wiregen_connections_closed_total{reason=\"eof\"} 1\n",
        "wiregen_connections_closed_total{reason=\"unknown_message_id\"} 1\n",
        "wiregen_frames_received_total 5\n", "wiregen_frames_sent_total 5\n"}) {
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(wiregen::test::promtool_accepts(text));
}
