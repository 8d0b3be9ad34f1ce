// What a message_observer sees and what a server counts per message type and
// per rpc, over loopback with the kv protocol (calls by request id, a
// kv.Status for failures, a push beside a call): every frame in and out with
// its type, size and request id, every call's begin and end with its
// outcome and handler time, on the server and on the client; the same
// figures in server.metrics() and the Prometheus text, which promtool
// accepts.
#include "kv.wiregen.h"

#include <asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/options.hpp"
#include "support/promtool.hpp"
#include "support/waiter.hpp"
#include "wiregen/message_observer.hpp"
#include "wiregen/server_metrics.hpp"

using namespace std::chrono_literals;

namespace {

class kv_server final : public kv::server_handler {
 public:
  wiregen::call_result<kv::GetReply> Get(kv::server_session&, const kv::GetRequest& request,
                                         const wiregen::frame_meta&) override {
    if (request.key() == "throw") {
      throw std::runtime_error("the store is on fire");
    }
    if (request.key() == "later") {
      return wiregen::call_result<kv::GetReply>::later();  // never answered: the test ends first
    }
    if (request.key() != "colour") {
      return wiregen::call_result<kv::GetReply>::failure(404, "no key " + request.key());
    }
    kv::GetReply reply;
    reply.set_value("blue");
    return reply;
  }
  wiregen::call_result<kv::PutReply> Put(kv::server_session& session, const kv::PutRequest& request,
                                         const wiregen::frame_meta&) override {
    kv::Changed changed;  // a push beside the call
    changed.set_key(request.key());
    (void)session.send(changed);
    return kv::PutReply();
  }
};

class kv_client final : public kv::client_handler {
 public:
  void on_message(kv::client_session&, const kv::Changed&, const wiregen::frame_meta&) override {}
};

/// Every event as one line, e.g. "in kv.GetRequest #2 13 B" or
/// "end Store.Get #2 failed 404".
class recording_observer final : public wiregen::message_observer {
 public:
  void on_frame_received(const wiregen::frame_event& frame) override { add("in", frame); }
  void on_frame_sent(const wiregen::frame_event& frame) override { add("out", frame); }
  void on_call_begin(const wiregen::call_event& call) override {
    events.update([&] {
      lines.push_back("begin " + std::string(call.rpc->name) + " #" +
                      std::to_string(call.meta.request_id));
    });
  }
  void on_call_end(const wiregen::call_event& call) override {
    static constexpr const char* outcomes[] = {"ok",    "failed", "deferred",
                                               "threw", "unsent", "error"};
    events.update([&] {
      std::string line = "end " + std::string(call.rpc->name) + " #" +
                         std::to_string(call.meta.request_id) + " " +
                         outcomes[static_cast<int>(call.outcome)];
      if (call.outcome == wiregen::call_outcome::failed) {
        line += " " + std::to_string(call.status_code);
      }
      if (call.outcome == wiregen::call_outcome::error) {
        line += " " + std::string(wiregen::error_name(call.error));
      }
      lines.push_back(line);
      handler_times.push_back(call.handler_time);
      latencies.push_back(call.latency);
      ++ends;
    });
  }

  std::vector<std::string> take() {
    return events.read([&] { return lines; });
  }

  wiregen::test::waiter events;
  std::vector<std::string> lines;
  std::vector<std::chrono::nanoseconds> handler_times;
  std::vector<std::chrono::nanoseconds> latencies;
  std::vector<std::size_t> sizes;
  int ends = 0;

 private:
  void add(const char* direction, const wiregen::frame_event& frame) {
    events.update([&] {
      lines.push_back(std::string(direction) + " " +
                      std::string(frame.message ? frame.message->full_name : "?") + " #" +
                      std::to_string(frame.meta.request_id));
      sizes.push_back(frame.size);
    });
  }
};

kv::GetRequest get(const std::string& key) {
  kv::GetRequest request;
  request.set_key(key);
  return request;
}

struct observed_kv {
  observed_kv() : server(handler, server_options()), client(client_handler, client_options()) {
    REQUIRE_FALSE(server.listen("127.0.0.1", 0));
    REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  }

  wiregen::server_options server_options() {
    auto options = wiregen::test::with_threads(2);
    options.observer = on_server;
    return options;
  }
  wiregen::client_options client_options() {
    wiregen::client_options options;
    options.observer = on_client;
    return options;
  }

  /// Three calls, one at a time: a put (ok, with a push), a get (ok), a get
  /// of a missing key (failed).
  void three_calls() {
    kv::PutRequest put;
    put.set_key("colour");
    put.set_value("blue");
    REQUIRE(client.Put(put, 5s, asio::use_future).get().ok());
    REQUIRE(client.Get(get("colour"), 5s, asio::use_future).get().reply().value() == "blue");
    REQUIRE(client.Get(get("size"), 5s, asio::use_future).get().status_code() == 404);
    // The server counts a call's end after its reply is queued.
    REQUIRE(on_server->events.wait([&] { return on_server->ends == 3; }));
  }

  std::shared_ptr<recording_observer> on_server = std::make_shared<recording_observer>();
  std::shared_ptr<recording_observer> on_client = std::make_shared<recording_observer>();
  kv_server handler;
  kv_client client_handler;
  kv::server server;
  kv::client client;
};

std::map<std::string, wiregen::message_metrics> by_message(
    const std::vector<wiregen::message_metrics>& messages) {
  std::map<std::string, wiregen::message_metrics> found;
  for (const auto& row : messages) {
    found.emplace(row.message, row);
  }
  return found;
}

}  // namespace

TEST_CASE("observers: the server sees every frame and call with its type, request id and outcome",
          "[generated][observers]") {
  observed_kv kv;
  kv.three_calls();
  // Request ids count from 1 per client; the push carries 0.
  CHECK(kv.on_server->take() == std::vector<std::string>{
                                    "in kv.PutRequest #1",
                                    "begin Store.Put #1",
                                    "out kv.Changed #0",
                                    "out kv.PutReply #1",
                                    "end Store.Put #1 ok",
                                    "in kv.GetRequest #2",
                                    "begin Store.Get #2",
                                    "out kv.GetReply #2",
                                    "end Store.Get #2 ok",
                                    "in kv.GetRequest #3",
                                    "begin Store.Get #3",
                                    "out kv.Status #3",
                                    "end Store.Get #3 failed 404",
                                });
  kv.on_server->events.read([&] {
    for (const auto time : kv.on_server->handler_times) {
      CHECK(time > 0ns);
      CHECK(time < 5s);
    }
    // Whole frames: a 10-byte header (u32 length, u16 type, u32 request id)
    // and the payload; GetRequest{key: "colour"} is 8 bytes.
    CHECK(kv.on_server->sizes.at(3) == 10 + 8);
  });
}

TEST_CASE(
    "observers: the client sees its calls begin and end with their latency, and every "
    "frame",
    "[generated][observers]") {
  observed_kv kv;
  kv.three_calls();
  REQUIRE(kv.on_client->events.wait([&] { return kv.on_client->ends == 3; }));
  REQUIRE(kv.on_client->events.wait([&] { return kv.on_client->lines.size() == 13; }));
  // A call begins before its request goes out and ends once its reply (or
  // status) came in; the push beside the put is a frame of its own. A
  // frame sent is told once queued, so its reply may be told first.
  auto lines = kv.on_client->take();
  const auto at = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) - lines.begin();
  };
  for (const auto& [begin, out, in, end] : std::vector<std::array<std::string, 4>>{
           {"begin Store.Put #1", "out kv.PutRequest #1", "in kv.PutReply #1",
            "end Store.Put #1 ok"},
           {"begin Store.Get #2", "out kv.GetRequest #2", "in kv.GetReply #2",
            "end Store.Get #2 ok"},
           {"begin Store.Get #3", "out kv.GetRequest #3", "in kv.Status #3",
            "end Store.Get #3 failed 404"}}) {
    INFO(begin);
    CHECK(at(begin) < at(out));
    CHECK(at(begin) < at(in));
    CHECK(at(in) < at(end));
    CHECK(at(end) < static_cast<long>(lines.size()));
  }
  CHECK(at("in kv.Changed #0") < static_cast<long>(lines.size()));
  kv.on_client->events.read([&] {
    for (const auto latency : kv.on_client->latencies) {
      CHECK(latency > 0ns);
      CHECK(latency < 5s);
    }
  });
}

TEST_CASE(
    "metrics: a client counts its calls by outcome, a deadline as an error, and their "
    "latency",
    "[generated][metrics]") {
  observed_kv kv;
  kv.three_calls();
  // Never answered: the deadline ends it.
  CHECK(kv.client.Get(get("later"), 50ms, asio::use_future).get().error() ==
        wiregen::error::deadline_exceeded);
  REQUIRE(kv.on_client->events.wait([&] { return kv.on_client->ends == 4; }));
  CHECK(kv.on_client->take().back() == "end Store.Get #4 error deadline_exceeded");
  const auto m = kv.client.metrics();
  REQUIRE(m.calls.size() == 2);
  CHECK(m.calls[0].rpc == "Store.Get");
  CHECK(m.calls[0].outcomes == std::array<std::uint64_t, 6>{1, 1, 0, 0, 0, 1});
  CHECK(m.calls[1].outcomes == std::array<std::uint64_t, 6>{1, 0, 0, 0, 0, 0});
  std::uint64_t timed = 0;
  for (const auto n : m.calls[0].time_buckets) {
    timed += n;
  }
  CHECK(timed == 3);
  CHECK(m.calls[0].seconds >= 0.05);  // the expired call waited its deadline
  const auto rows = by_message(m.messages);
  CHECK(rows.at("kv.GetRequest").frames_sent == 3);
  CHECK(rows.at("kv.GetReply").frames_received == 1);
  CHECK(rows.at("kv.Status").frames_received == 1);
  CHECK(rows.at("kv.Changed").frames_received == 1);

  std::string text;
  wiregen::write_prometheus(m, text);
  INFO(text);
  for (const auto* line : {
           "wiregen_client_messages_sent_total{message=\"kv.GetRequest\"} 3\n",
           "wiregen_client_calls_total{rpc=\"Store.Get\",outcome=\"error\"} 1\n",
           "# TYPE wiregen_client_call_latency_seconds histogram\n",
           "wiregen_client_call_latency_seconds_count{rpc=\"Store.Get\"} 3\n",
       }) {
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(wiregen::test::promtool_accepts(text));
}

TEST_CASE(
    "observers: a handler that throws or answers later ends its call so; the connection "
    "closes after a throw",
    "[generated][observers]") {
  observed_kv kv;
  auto later = kv.client.Get(get("later"), 5s, asio::use_future);
  REQUIRE(kv.on_server->events.wait([&] { return kv.on_server->ends == 1; }));
  auto threw = kv.client.Get(get("throw"), 5s, asio::use_future);
  REQUIRE(kv.on_server->events.wait([&] { return kv.on_server->ends == 2; }));
  CHECK(threw.get().error() == wiregen::error::connection_closed);
  CHECK(later.get().error() == wiregen::error::connection_closed);
  // The client saw both end without an answer when the connection closed.
  REQUIRE(kv.on_client->events.wait([&] { return kv.on_client->ends == 2; }));
  const auto client_lines = kv.on_client->take();
  CHECK(std::count(client_lines.begin(), client_lines.end(),
                   "end Store.Get #1 error connection_closed") == 1);
  CHECK(std::count(client_lines.begin(), client_lines.end(),
                   "end Store.Get #2 error connection_closed") == 1);
  CHECK(kv.client.metrics().calls[0].outcomes[static_cast<int>(wiregen::call_outcome::error)] == 2);
  const auto lines = kv.on_server->take();
  CHECK(std::count(lines.begin(), lines.end(), "end Store.Get #1 deferred") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "end Store.Get #2 threw") == 1);
  const auto m = kv.server.metrics();
  REQUIRE(m.calls.size() == 2);
  CHECK(m.calls[0].rpc == "Store.Get");
  CHECK(m.calls[0].outcomes[static_cast<int>(wiregen::call_outcome::deferred)] == 1);
  CHECK(m.calls[0].outcomes[static_cast<int>(wiregen::call_outcome::threw)] == 1);
}

TEST_CASE("observers: an observer that throws is ignored and the traffic goes on",
          "[generated][observers]") {
  class throwing final : public wiregen::message_observer {
   public:
    void on_frame_received(const wiregen::frame_event&) override { throw std::bad_alloc(); }
    void on_call_end(const wiregen::call_event&) override { throw std::runtime_error("no"); }
  };
  kv_server handler;
  auto options = wiregen::test::with_threads(1);
  options.observer = std::make_shared<throwing>();
  kv::server server(handler, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  kv_client client_handler;
  kv::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  for (int i = 0; i < 3; ++i) {
    CHECK(client.Get(get("colour"), 5s, asio::use_future).get().reply().value() == "blue");
  }
}

TEST_CASE(
    "metrics: frames and bytes per message type and calls per rpc by outcome, with the "
    "handler-time histogram",
    "[generated][metrics]") {
  observed_kv kv;
  kv.three_calls();
  const auto m = kv.server.metrics();
  const auto rows = by_message(m.messages);
  REQUIRE(rows.size() == 6 + 1);  // the table, then frames of no known type
  CHECK(rows.at("kv.PutRequest").frames_received == 1);
  CHECK(rows.at("kv.GetRequest").frames_received == 2);
  CHECK(rows.at("kv.GetRequest").bytes_received == (10 + 8) + (10 + 6));
  CHECK(rows.at("kv.GetReply").frames_sent == 1);
  CHECK(rows.at("kv.PutReply").frames_sent == 1);
  CHECK(rows.at("kv.Status").frames_sent == 1);
  CHECK(rows.at("kv.Changed").frames_sent == 1);
  CHECK(rows.at("").frames_received == 0);
  std::uint64_t sent = 0;
  for (const auto& row : m.messages) {
    sent += row.frames_sent;
  }
  CHECK(sent == 4);

  REQUIRE(m.calls.size() == 2);
  const auto& get_calls = m.calls[0];
  CHECK(get_calls.rpc == "Store.Get");
  CHECK(get_calls.outcomes == std::array<std::uint64_t, 6>{1, 1, 0, 0, 0, 0});
  CHECK(m.calls[1].rpc == "Store.Put");
  CHECK(m.calls[1].outcomes == std::array<std::uint64_t, 6>{1, 0, 0, 0, 0, 0});
  std::uint64_t timed = 0;
  for (const auto n : get_calls.time_buckets) {
    timed += n;
  }
  CHECK(timed == 2);
  CHECK(get_calls.seconds > 0);
  CHECK(get_calls.seconds < 10);

  std::string text;
  wiregen::write_prometheus(m, text);
  INFO(text);
  for (const auto* line : {
           "# TYPE wiregen_messages_received_total counter\n",
           "wiregen_messages_received_total{message=\"kv.GetRequest\"} 2\n",
           "wiregen_message_bytes_received_total{message=\"kv.GetRequest\"} 34\n",
           "wiregen_messages_sent_total{message=\"kv.Status\"} 1\n",
           "wiregen_calls_total{rpc=\"Store.Get\",outcome=\"ok\"} 1\n",
           "wiregen_calls_total{rpc=\"Store.Get\",outcome=\"failed\"} 1\n",
           "# TYPE wiregen_call_handler_seconds histogram\n",
           "wiregen_call_handler_seconds_bucket{rpc=\"Store.Get\",le=\"+Inf\"} 2\n",
           "wiregen_call_handler_seconds_count{rpc=\"Store.Get\"} 2\n",
       }) {
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(wiregen::test::promtool_accepts(text));
}

TEST_CASE("metrics: with message_metrics off nothing is counted per type; an observer still sees",
          "[generated][metrics]") {
  kv_server handler;
  auto seen = std::make_shared<recording_observer>();
  auto options = wiregen::test::with_threads(1);
  options.message_metrics = false;
  kv::server quiet(handler, options);
  options.observer = seen;
  kv::server observed(handler, options);
  kv_client client_handler;
  for (auto* server : {&quiet, &observed}) {
    REQUIRE_FALSE(server->listen("127.0.0.1", 0));
    kv::client client(client_handler);
    REQUIRE_FALSE(client.connect("127.0.0.1", server->port()));
    CHECK(client.Get(get("colour"), 5s, asio::use_future).get().ok());
    const auto m = server->metrics();
    CHECK(m.frames_received == 1);  // the totals stay
    CHECK(m.messages.empty());
    CHECK(m.calls.empty());
  }
  REQUIRE(seen->events.wait([&] { return seen->ends == 1; }));
  CHECK(seen->take().front() == "in kv.GetRequest #1");
}
