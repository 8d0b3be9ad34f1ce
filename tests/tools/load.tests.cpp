// The load generator written once for every protocol (tools/load), run
// against in-process servers over loopback: the bench protocol, whose
// replies come back in order, and kv, whose replies carry the request id
// and here come back out of order.
#include "kv.wiregen.h"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "support/bench_peers.hpp"
#include "support/options.hpp"
#include "wiregen_load.hpp"

namespace {

/// Answers Gets in pairs, the second request first: a load generator that
/// matched replies by order would take each reply for the other request.
class reversing_kv final : public kv::server_handler {
 public:
  wiregen::call_result<kv::GetReply> Get(kv::server_session& session, const kv::GetRequest& request,
                                         const wiregen::frame_meta& meta) override {
    events.update([&] {
      ids.push_back(meta.request_id);
      keys.push_back(request.key());
    });
    if (!held_) {
      held_ = meta;
      return wiregen::call_result<kv::GetReply>::later();
    }
    kv::GetReply reply;
    reply.set_value("v");
    (void)session.send(reply, wiregen::reply_meta(meta));
    (void)session.send(reply, wiregen::reply_meta(*held_));
    held_.reset();
    return wiregen::call_result<kv::GetReply>::later();
  }
  wiregen::call_result<kv::PutReply> Put(kv::server_session&, const kv::PutRequest&,
                                         const wiregen::frame_meta&) override {
    return kv::PutReply();
  }

  wiregen::test::waiter events;
  std::vector<std::uint64_t> ids;
  std::vector<std::string> keys;

 private:
  std::optional<wiregen::frame_meta> held_;  // one connection, one loop thread
};

}  // namespace

TEST_CASE("load tool: the bench protocol, replies in order, a counted run", "[tools][load]") {
  wiregen::test::recording_server handler;
  std::uint64_t served = 0;
  std::size_t payload_sizes_wrong = 0;
  handler.on_request = [&](bench::server_session& session, const bench::EchoRequest& request) {
    handler.events.update([&] {
      ++served;
      payload_sizes_wrong += request.payload().size() != 64;
    });
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  };
  bench::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  wiregen::load::settings options;
  options.port = server.port();
  options.connections = 4;
  options.depth = 8;
  options.requests = 2000;
  options.fill_field = "payload";
  options.fill_size = 64;
  wiregen::load::load_report report;
  REQUIRE(wiregen::load::run<bench::protocol>(options, report).empty());
  CHECK(report.errors == 0);
  CHECK(report.all == 2000);
  CHECK(report.latency_ns.size() == 2000);
  REQUIRE(handler.events.wait([&] { return served == 2000; }));
  CHECK(payload_sizes_wrong == 0);
}

TEST_CASE("load tool: kv replies matched by request id when they come back out of order",
          "[tools][load]") {
  reversing_kv handler;
  kv::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  wiregen::load::settings options;
  options.port = server.port();
  options.connections = 1;
  options.depth = 2;
  options.requests = 1000;  // even: every request has its pair
  options.rpc = "Store.Get";
  options.request_text = R"(key: "k")";
  wiregen::load::load_report report;
  REQUIRE(wiregen::load::run<kv::protocol>(options, report).empty());
  CHECK(report.errors == 0);
  CHECK(report.all == 1000);
  REQUIRE(handler.events.wait([&] { return handler.ids.size() == 1000; }));
  std::size_t bad_pairs = 0;
  for (std::size_t i = 0; i + 1 < handler.ids.size(); i += 2) {
    bad_pairs +=
        handler.ids[i] == 0 || handler.ids[i + 1] == 0 || handler.ids[i] == handler.ids[i + 1];
  }
  CHECK(bad_pairs == 0);
  CHECK(handler.keys.front() == "k");
}

TEST_CASE("load tool: what to send is checked against the protocol's table", "[tools][load]") {
  wiregen::load::plan work;
  wiregen::load::settings options;
  // kv's client sends two messages, and has rpcs: the first rpc is the default.
  CHECK(wiregen::load::make_plan(kv::protocol::info, options, work).empty());
  CHECK(work.request_id == 1);
  CHECK(work.reply_id == 2);

  options.rpc = "Store.Nope";
  CHECK(wiregen::load::make_plan(kv::protocol::info, options, work) ==
        "no rpc Store.Nope in this protocol");
  options.rpc.clear();
  options.send = "kv.PutRequest";
  options.expect = "kv.Missing";
  CHECK(wiregen::load::make_plan(kv::protocol::info, options, work) ==
        "no message kv.Missing in this protocol's table");
  options.expect = "kv.PutReply";
  options.request_text = "no_such_field: 1";
  CHECK(wiregen::load::make_plan(kv::protocol::info, options, work) ==
        "--request is not a kv.PutRequest in text format");
  options.request_text.clear();
  options.fill_field = "missing";
  CHECK(wiregen::load::make_plan(kv::protocol::info, options, work) ==
        "kv.PutRequest has no string or bytes field missing");
}
