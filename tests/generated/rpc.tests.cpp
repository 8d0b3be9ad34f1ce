// Request/response from `service` definitions: schema/examples/kv matches
// calls by request id (replies in any order, a kv.Status for failures,
// pushes beside calls); schema/examples/greeter matches them by order (the
// gRPC message prefix has no request id). Callback, future and awaitable
// calls, deadlines, a closed connection, and a hand-made server that
// answers out of order.
#include "greeter.wiregen.h"
#include "kv.wiregen.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/options.hpp"
#include "support/waiter.hpp"

using namespace std::chrono_literals;

namespace {

class kv_server final : public kv::server_handler {
 public:
  ~kv_server() {
    for (auto& thread : repliers_) {
      thread.join();
    }
  }
  wiregen::call_result<kv::GetReply> Get(kv::server_session& session, const kv::GetRequest& request,
                                         const wiregen::frame_meta& meta) override {
    if (request.key() == "elsewhere") {
      // Answered later, from another thread, under the call's request id.
      repliers_.emplace_back([session, meta] {
        kv::GetReply reply;
        reply.set_value("answered elsewhere");
        (void)session.send(reply, wiregen::reply_meta(meta));
      });
      return wiregen::call_result<kv::GetReply>::later();
    }
    std::lock_guard lock(mutex_);
    const auto found = store_.find(request.key());
    if (found == store_.end()) {
      return wiregen::call_result<kv::GetReply>::failure(404, "no key " + request.key());
    }
    kv::GetReply reply;
    reply.set_value(found->second);
    return reply;
  }
  wiregen::call_result<kv::PutReply> Put(kv::server_session& session, const kv::PutRequest& request,
                                         const wiregen::frame_meta&) override {
    kv::PutReply reply;
    {
      std::lock_guard lock(mutex_);
      reply.set_previous(store_[request.key()]);
      store_[request.key()] = request.value();
    }
    // A push beside the call: request id 0, so no call takes it.
    kv::Changed changed;
    changed.set_key(request.key());
    changed.set_value(request.value());
    (void)session.send(changed);
    return reply;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> store_;
  std::vector<std::thread> repliers_;  // only the connection's thread touches it
};

class kv_client final : public kv::client_handler {
 public:
  void on_message(kv::client_session&, const kv::Changed& changed,
                  const wiregen::frame_meta& meta) override {
    events.update([&] {
      pushes.push_back(changed.key() + "=" + changed.value() + " #" +
                       std::to_string(meta.request_id));
    });
  }
  void on_message(kv::client_session&, const kv::GetReply& reply,
                  const wiregen::frame_meta&) override {
    events.update([&] { stray_replies.push_back(reply.value()); });
  }
  wiregen::test::waiter events;
  std::vector<std::string> pushes;
  std::vector<std::string> stray_replies;
};

kv::GetRequest get(const std::string& key) {
  kv::GetRequest request;
  request.set_key(key);
  return request;
}

kv::PutRequest put(const std::string& key, const std::string& value) {
  kv::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  return request;
}

/// A kv frame written by hand: u32 BE payload length, u16 BE type, u32 BE request id.
std::string kv_frame(std::uint16_t type, std::uint32_t request_id,
                     const google::protobuf::MessageLite& message) {
  const std::string payload = message.SerializeAsString();
  const auto size = static_cast<std::uint32_t>(payload.size());
  std::string frame{static_cast<char>(size >> 24),       static_cast<char>(size >> 16),
                    static_cast<char>(size >> 8),        static_cast<char>(size),
                    static_cast<char>(type >> 8),        static_cast<char>(type),
                    static_cast<char>(request_id >> 24), static_cast<char>(request_id >> 16),
                    static_cast<char>(request_id >> 8),  static_cast<char>(request_id)};
  return frame + payload;
}

/// A kv server written by hand that shares no code with wiregen: accepts
/// one connection, reads `count` GetRequests, then runs `answer` with their
/// (request id, key) pairs.
class hand_made_kv_server {
 public:
  using requests = std::vector<std::pair<std::uint32_t, std::string>>;

  template <class Answer>
  hand_made_kv_server(std::size_t count, Answer answer)
      : acceptor_(context_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, count, answer] {
      asio::ip::tcp::socket socket(context_);
      acceptor_.accept(socket);
      requests got;
      for (std::size_t i = 0; i < count; ++i) {
        unsigned char header[10];
        asio::read(socket, asio::buffer(header));
        const std::uint32_t size =
            (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
        const std::uint32_t id =
            (header[6] << 24) | (header[7] << 16) | (header[8] << 8) | header[9];
        std::string payload(size, '\0');
        asio::read(socket, asio::buffer(payload));
        kv::GetRequest request;
        request.ParseFromString(payload);
        got.emplace_back(id, request.key());
      }
      answer(socket, got);
      // Stay until the client goes, so that a late test step sees an open connection.
      std::error_code ec;
      char byte;
      asio::read(socket, asio::buffer(&byte, 1), ec);
    });
  }
  ~hand_made_kv_server() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context context_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("rpc: calls complete with replies, a failure comes back as the spec's status",
          "[generated][rpc]") {
  kv_server handler;
  kv::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  kv_client client_handler;
  kv::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  // A callback...
  wiregen::test::waiter done;
  std::optional<wiregen::call_result<kv::PutReply>> first;
  client.Put(put("colour", "blue"), 5s, [&](wiregen::call_result<kv::PutReply> result) {
    done.update([&] { first = std::move(result); });
  });
  REQUIRE(done.wait([&] { return first.has_value(); }));
  CHECK(first->ok());
  CHECK(first->reply().previous().empty());

  // ...a future...
  auto second = client.Put(put("colour", "green"), 5s, asio::use_future).get();
  REQUIRE(second.ok());
  CHECK(second.reply().previous() == "blue");
  auto missing = client.Get(get("size"), 5s, asio::use_future).get();
  CHECK(missing.error() == wiregen::error::remote_error);
  CHECK(missing.status_code() == 404);
  CHECK(missing.status_message() == "no key size");

  // ...and a coroutine.
  asio::io_context caller;
  std::string value;
  asio::co_spawn(
      caller,
      [&]() -> asio::awaitable<void> {
        auto result = co_await client.Get(get("colour"), 5s, asio::use_awaitable);
        value = result.ok() ? result.reply().value() : result.error().message();
      },
      asio::detached);
  caller.run();
  CHECK(value == "green");

  // A method may answer later, from elsewhere.
  CHECK(client.Get(get("elsewhere"), 5s, asio::use_future).get().reply().value() ==
        "answered elsewhere");

  // The pushes came beside the calls, with request id 0; no reply strayed.
  REQUIRE(client_handler.events.wait([&] { return client_handler.pushes.size() == 2; }));
  CHECK(client_handler.pushes == std::vector<std::string>{"colour=blue #0", "colour=green #0"});
  CHECK(client_handler.stray_replies.empty());
}

TEST_CASE("rpc: a one-shot call dials, asks once, takes its reply and closes", "[generated][rpc]") {
  // The seeds' Once (dial, one request, one reply, close) is a scoped client:
  // the call is one statement, the destructor closes the connection.
  kv_server handler;
  kv::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  const auto address = wiregen::socket_address::tcp("127.0.0.1", server.port());
  auto once = [&](const auto& call) {
    kv_client pushes;
    kv::client client(pushes);
    REQUIRE_FALSE(client.connect(address));
    return call(client);
  };

  const auto stored =
      once([](kv::client& c) { return c.Put(put("colour", "blue"), 5s, asio::use_future).get(); });
  CHECK(stored.ok());
  const auto read =
      once([](kv::client& c) { return c.Get(get("colour"), 5s, asio::use_future).get(); });
  REQUIRE(read.ok());
  CHECK(read.reply().value() == "blue");
  const auto missing =
      once([](kv::client& c) { return c.Get(get("size"), 5s, asio::use_future).get(); });
  CHECK(missing.status_code() == 404);
  // Each call's connection is gone once it returned.
  CHECK(wiregen::test::poll_until([&] { return server.connection_count() == 0; }));
}

TEST_CASE("rpc: replies that come back out of order find their calls by request id",
          "[generated][rpc]") {
  hand_made_kv_server peer(
      3, [](asio::ip::tcp::socket& socket, const hand_made_kv_server::requests& got) {
        // Last request first; the reply says which key it answers.
        for (auto it = got.rbegin(); it != got.rend(); ++it) {
          kv::GetReply reply;
          reply.set_value("value of " + it->second);
          asio::write(socket, asio::buffer(kv_frame(2, it->first, reply)));
        }
      });
  kv_client client_handler;
  kv::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", peer.port()));
  auto a = client.Get(get("a"), 5s, asio::use_future);
  auto b = client.Get(get("b"), 5s, asio::use_future);
  auto c = client.Get(get("c"), 5s, asio::use_future);
  CHECK(c.get().reply().value() == "value of c");
  CHECK(b.get().reply().value() == "value of b");
  CHECK(a.get().reply().value() == "value of a");
  client.stop();
}

TEST_CASE("rpc: a deadline ends a call, and its late reply is not taken for a push",
          "[generated][rpc][timeouts]") {
  wiregen::test::waiter late;
  bool answered = false;
  hand_made_kv_server peer(
      1, [&](asio::ip::tcp::socket& socket, const hand_made_kv_server::requests& got) {
        late.wait([&] { return answered; });  // until the call has timed out
        kv::GetReply reply;
        reply.set_value("too late");
        asio::write(socket, asio::buffer(kv_frame(2, got[0].first, reply)));
        kv::Changed changed;  // and then a push, which must arrive
        changed.set_key("k");
        asio::write(socket, asio::buffer(kv_frame(6, 0, changed)));
      });
  kv_client client_handler;
  kv::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", peer.port()));
  const auto result = client.Get(get("slow"), 200ms, asio::use_future).get();
  CHECK(result.error() == wiregen::error::deadline_exceeded);
  late.update([&] { answered = true; });
  REQUIRE(client_handler.events.wait([&] { return client_handler.pushes.size() == 1; }));
  CHECK(client_handler.stray_replies.empty());
  client.stop();
}

TEST_CASE("rpc: a closed connection ends waiting calls, and no connection refuses them",
          "[generated][rpc]") {
  wiregen::test::waiter closing;
  bool may_close = false;
  hand_made_kv_server peer(
      1, [&](asio::ip::tcp::socket& socket, const hand_made_kv_server::requests&) {
        closing.wait([&] { return may_close; });
        socket.close();
      });
  kv_client client_handler;
  kv::client client(client_handler);
  CHECK(client.Get(get("x"), 1s, asio::use_future).get().error() == wiregen::error::not_connected);
  REQUIRE_FALSE(client.connect("127.0.0.1", peer.port()));
  auto pending = client.Get(get("x"), 0ms, asio::use_future);  // no deadline
  closing.update([&] { may_close = true; });
  CHECK(pending.get().error() == wiregen::error::connection_closed);
}

namespace {

class greeter_server final : public greeter::server_handler {
 public:
  wiregen::call_result<greeter::HelloReply> SayHello(greeter::server_session&,
                                                     const greeter::HelloRequest& request,
                                                     const wiregen::frame_meta&) override {
    if (request.name().empty()) {
      return wiregen::call_result<greeter::HelloReply>::failure(3, "a name is required");
    }
    if (request.name() == "unanswered") {
      return wiregen::call_result<greeter::HelloReply>::later();  // and never answered
    }
    greeter::HelloReply reply;
    reply.set_message("hello, " + request.name());
    return reply;
  }
};

class greeter_client final : public greeter::client_handler {};

greeter::HelloRequest hello(const std::string& name) {
  greeter::HelloRequest request;
  request.set_name(name);
  return request;
}

}  // namespace

TEST_CASE("rpc: without a request id, pipelined calls are matched by order",
          "[generated][rpc][greeter]") {
  greeter_server handler;
  greeter::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  greeter_client client_handler;
  greeter::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));

  std::vector<std::future<wiregen::call_result<greeter::HelloReply>>> calls;
  for (int i = 0; i < 20; ++i) {
    calls.push_back(client.SayHello(hello("n" + std::to_string(i)), 5s, asio::use_future));
  }
  for (int i = 0; i < 20; ++i) {
    const auto result = calls[static_cast<std::size_t>(i)].get();
    REQUIRE(result.ok());
    CHECK(result.reply().message() == "hello, n" + std::to_string(i));
  }

  // The spec has no rpc.error: a failure closes the connection, and the
  // call learns of it that way.
  CHECK(client.SayHello(hello(""), 5s, asio::use_future).get().error() ==
        wiregen::error::connection_closed);
}

TEST_CASE("rpc: without a request id, a call past its deadline closes its connection",
          "[generated][rpc][greeter][timeouts]") {
  // Were the connection kept, the next reply would be taken for the late
  // reply of the expired call, and every reply after it would answer the
  // call before its own.
  greeter_server handler;
  greeter::server server(handler, wiregen::test::with_threads(1));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  greeter_client client_handler;
  greeter::client client(client_handler);
  REQUIRE_FALSE(client.connect("127.0.0.1", server.port()));
  CHECK(client.SayHello(hello("unanswered"), 200ms, asio::use_future).get().error() ==
        wiregen::error::deadline_exceeded);
  // The stop began before the call's result was handed over.
  CHECK(client.SayHello(hello("next"), 2s, asio::use_future).get().error() ==
        wiregen::error::connection_closed);
}
