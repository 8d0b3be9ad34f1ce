#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "chat.wiregen.h"

/// The chat server's logic: who is logged in, who is in which room, and
/// fanning each line out to the room. `log` receives one line per event.
class chat_room final : public chat::server_handler {
 public:
  explicit chat_room(std::function<void(const std::string&)> log) : log_(std::move(log)) {}

  void on_message(chat::server_session& session, const chat::LoginRequest& request,
                  const wiregen::frame_meta& meta) override {
    chat::LoginReply reply;
    {
      std::lock_guard lock(mutex_);
      auto& user = users_[session.id()];
      if (request.user().empty() || taken(request.user())) {
        reply.set_reason(request.user().empty() ? "empty name" : "name taken");
      } else if (!user.name.empty()) {
        reply.set_reason("already logged in as " + user.name);
      } else {
        user.name = request.user();
        user.session = session;
        reply.set_ok(true);
        log(user.name + " logged in from " + session.remote_address());
      }
    }
    session.send(reply, meta);  // the same request id: the client matches it
  }

  void on_message(chat::server_session& session, const chat::JoinRoom& join,
                  const wiregen::frame_meta& meta) override {
    std::lock_guard lock(mutex_);
    const auto* user = logged_in(session);
    if (user == nullptr || join.room().empty()) {
      return notice(session, user ? "name a room to join" : "log in first");
    }
    auto& members = rooms_[join.room()];
    chat::Joined joined;
    joined.set_room(join.room());
    chat::Notice arrival;
    arrival.set_text(user->name + " joined " + join.room());
    for (const auto id : members) {
      joined.add_members(users_[id].name);
      users_[id].session.send(arrival);
    }
    members.insert(session.id());
    joined.add_members(user->name);
    session.send(joined, meta);
    log(arrival.text());
  }

  void on_message(chat::server_session& session, const chat::Say& say,
                  const wiregen::frame_meta&) override {
    std::lock_guard lock(mutex_);
    const auto* user = logged_in(session);
    const auto room = rooms_.find(say.room());
    if (user == nullptr || room == rooms_.end() || !room->second.contains(session.id())) {
      return notice(session, "join " + say.room() + " before saying anything there");
    }
    chat::Line line;
    line.set_room(say.room());
    line.set_user(user->name);
    line.set_text(say.text());
    // Each member's session queues its own copy; a slow member only fills
    // its own send queue.
    for (const auto id : room->second) {
      users_[id].session.send(line);
    }
    log("[" + say.room() + "] " + user->name + ": " + say.text());
  }

  void on_message(chat::server_session& session, const chat::Notice& notice_from_client,
                  const wiregen::frame_meta&) override {
    std::lock_guard lock(mutex_);
    const auto* user = logged_in(session);
    log((user ? user->name : session.remote_address()) +
        " says to the server: " + notice_from_client.text());
  }

  // A member whose queue fills up is not reading: rather than buffer without
  // end or slow the room down, drop it. Its on_closed tells the room.
  void on_writability_changed(chat::server_session& session, bool writable) override {
    if (writable) {
      return;
    }
    {
      std::lock_guard lock(mutex_);
      users_[session.id()].dropped = true;
    }
    session.stop(wiregen::stop_mode::immediate);
  }

  void on_closed(chat::server_session& session, std::error_code reason,
                 const wiregen::connection_stats&) override {
    std::lock_guard lock(mutex_);
    const auto user = users_.find(session.id());
    if (user == users_.end()) {
      return;
    }
    const std::string name = user->second.name;
    const bool dropped = user->second.dropped;
    users_.erase(user);
    if (name.empty()) {
      return;
    }
    chat::Notice departure;
    for (auto& [room, members] : rooms_) {
      if (members.erase(session.id()) > 0) {
        departure.set_text(name + " left " + room);
        for (const auto id : members) {
          users_[id].session.send(departure);
        }
      }
    }
    if (dropped) {
      log(name + " dropped: not reading");
    } else if (reason == asio::error::eof) {
      log(name + " left");
    } else {
      log(name + " disconnected (" + (reason ? reason.message() : "closed by server") + ")");
    }
  }

 private:
  struct user {
    std::string name;
    chat::server_session session;
    bool dropped = false;  // for not reading
  };

  bool taken(const std::string& name) const {
    for (const auto& [id, other] : users_) {
      if (other.name == name) {
        return true;
      }
    }
    return false;
  }

  const user* logged_in(const chat::server_session& session) const {
    const auto found = users_.find(session.id());
    return found == users_.end() || found->second.name.empty() ? nullptr : &found->second;
  }

  static void notice(const chat::server_session& session, const std::string& text) {
    chat::Notice message;
    message.set_text(text);
    session.send(message);
  }

  void log(const std::string& text) const {
    if (log_) {
      log_(text);
    }
  }

  std::function<void(const std::string&)> log_;
  // Handlers of different connections run on different I/O threads.
  std::mutex mutex_;
  std::map<std::uint64_t, user> users_;
  std::map<std::string, std::set<std::uint64_t>> rooms_;
};
