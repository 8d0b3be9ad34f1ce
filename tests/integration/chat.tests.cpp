// The chat example's server logic end to end: several users over loopback.
#include "chat_room.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/gate.hpp"
#include "support/options.hpp"
#include "support/waiter.hpp"

namespace {

class chat_user final : public chat::client_handler {
 public:
  void on_message(chat::client_session&, const chat::LoginReply& reply,
                  const wiregen::frame_meta& meta) override {
    record("login " + std::string(reply.ok() ? "ok" : reply.reason()) + " #" +
           std::to_string(meta.request_id));
  }
  void on_message(chat::client_session&, const chat::Joined& joined,
                  const wiregen::frame_meta&) override {
    record("joined " + joined.room() + " with " + std::to_string(joined.members_size()));
  }
  void on_message(chat::client_session&, const chat::Line& line,
                  const wiregen::frame_meta&) override {
    if (hold != nullptr) {
      hold->pass();  // this user stops reading
    }
    record(line.user() + ": " + line.text());
  }
  void on_message(chat::client_session&, const chat::Notice& notice,
                  const wiregen::frame_meta&) override {
    record("* " + notice.text());
  }

  bool saw(const std::string& event) {
    return events_.wait([&] { return std::find(seen.begin(), seen.end(), event) != seen.end(); });
  }

  std::vector<std::string> seen;
  wiregen::test::gate* hold = nullptr;

 private:
  void record(std::string event) {
    events_.update([&] { seen.push_back(std::move(event)); });
  }
  wiregen::test::waiter events_;
};

struct connected_user {
  explicit connected_user(std::uint16_t port, wiregen::client_options options = {})
      : client(handler, std::move(options)) {
    REQUIRE_FALSE(client.connect("127.0.0.1", port));
  }
  void login(const std::string& name, std::uint32_t request_id) {
    chat::LoginRequest request;
    request.set_user(name);
    REQUIRE_FALSE(client.session().send(request, {.request_id = request_id}));
  }
  void join(const std::string& room) {
    chat::JoinRoom join;
    join.set_room(room);
    REQUIRE_FALSE(client.session().send(join));
  }
  void say(const std::string& room, const std::string& text) {
    chat::Say say;
    say.set_room(room);
    say.set_text(text);
    REQUIRE_FALSE(client.session().send(say));
  }
  chat_user handler;
  chat::client client;
};

}  // namespace

TEST_CASE("chat: users log in, join a room, and every line reaches everyone in it",
          "[integration][chat]") {
  wiregen::test::waiter log_waiter;
  std::vector<std::string> log;
  chat_room room([&](const std::string& line) { log_waiter.update([&] { log.push_back(line); }); });
  chat::server server(room, wiregen::test::with_threads(2));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  connected_user alice(server.port());
  connected_user bob(server.port());
  connected_user carol(server.port());
  connected_user mallory(server.port());

  alice.login("alice", 11);
  CHECK(alice.handler.saw("login ok #11"));
  alice.join("lobby");
  CHECK(alice.handler.saw("joined lobby with 1"));
  bob.login("bob", 12);
  CHECK(bob.handler.saw("login ok #12"));
  bob.join("lobby");
  CHECK(bob.handler.saw("joined lobby with 2"));
  CHECK(alice.handler.saw("* bob joined lobby"));

  carol.login("alice", 13);
  CHECK(carol.handler.saw("login name taken #13"));
  carol.login("carol", 14);
  CHECK(carol.handler.saw("login ok #14"));
  carol.join("kitchen");
  CHECK(carol.handler.saw("joined kitchen with 1"));

  mallory.say("lobby", "not logged in");
  CHECK(mallory.handler.saw("* join lobby before saying anything there"));

  alice.say("lobby", "hi bob");
  bob.say("lobby", "hi alice");
  for (auto* user : {&alice, &bob}) {
    CHECK(user->handler.saw("alice: hi bob"));
    CHECK(user->handler.saw("bob: hi alice"));
  }
  carol.say("kitchen", "anyone?");
  CHECK(carol.handler.saw("carol: anyone?"));
  // Lines stay in their room.
  CHECK(std::count(alice.handler.seen.begin(), alice.handler.seen.end(), "carol: anyone?") == 0);

  bob.client.stop(wiregen::stop_mode::graceful_wait);
  CHECK(alice.handler.saw("* bob left lobby"));
  CHECK(
      log_waiter.wait([&] { return std::find(log.begin(), log.end(), "bob left") != log.end(); }));
  CHECK(server.stop(wiregen::stop_mode::graceful_wait) == 0);
}

TEST_CASE("chat: a member who stops reading is dropped, and the room goes on",
          "[integration][chat]") {
  wiregen::test::waiter log_waiter;
  std::vector<std::string> log;
  chat_room room([&](const std::string& line) { log_waiter.update([&] { log.push_back(line); }); });
  auto options = wiregen::test::with_threads(2);
  options.connection.max_queued_bytes = 32 * 1024;
  options.connection.low_watermark = 8 * 1024;
  options.connection.send_buffer_size = 4096;
  chat::server server(room, options);
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));

  wiregen::client_options small_buffer;
  small_buffer.connection.receive_buffer_size = 4096;
  wiregen::test::gate hold;  // outlives the sloth's thread, which waits at it
  connected_user talker(server.port());
  connected_user sloth(server.port(), small_buffer);
  talker.login("talker", 1);
  sloth.login("sloth", 2);
  CHECK(talker.handler.saw("login ok #1"));
  CHECK(sloth.handler.saw("login ok #2"));
  talker.join("lobby");
  CHECK(talker.handler.saw("joined lobby with 1"));
  sloth.join("lobby");
  CHECK(talker.handler.saw("* sloth joined lobby"));
  sloth.handler.hold = &hold;

  // The talker keeps talking, at the pace it reads, until the room drops
  // the sloth; bounded.
  bool dropped = false;
  for (int i = 0; i < 20000 && !dropped; ++i) {
    const std::string text = std::to_string(i) + std::string(1000, 'z');
    talker.say("lobby", text);
    REQUIRE(talker.handler.saw("talker: " + text));
    dropped = log_waiter.read([&] {
      return std::find(log.begin(), log.end(), "sloth dropped: not reading") != log.end();
    });
  }
  CHECK(dropped);
  CHECK(talker.handler.saw("* sloth left lobby"));
  talker.say("lobby", "still here");
  CHECK(talker.handler.saw("talker: still here"));
  hold.open();
  CHECK(server.stop(wiregen::stop_mode::graceful_wait) == 0);
}
