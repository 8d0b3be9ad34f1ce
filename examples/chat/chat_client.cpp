// A chat client driven by commands on stdin, one per line, so it can be
// scripted:
//
//   login NAME        log in; waits for the server's answer
//   join ROOM         join a room; waits until joined
//   say ROOM TEXT     say TEXT in ROOM
//   notice TEXT       send a notice to the server
//   expect TEXT       wait (up to 5 s) until something received contains TEXT
//   quit              leave (also at end of input)
//
//   chat_client --connect 127.0.0.1:7100 [--name LABEL] < script
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <wiregen/address.hpp>

#include "chat.wiregen.h"

namespace {

/// Prints what arrives and keeps it, so commands can wait for it.
class chat_printer final : public chat::client_handler {
 public:
  explicit chat_printer(std::string label) : label_(std::move(label)) {}

  void on_message(chat::client_session&, const chat::LoginReply& reply,
                  const wiregen::frame_meta& meta) override {
    record(reply.ok() ? "logged in" : "login refused: " + reply.reason(), meta.request_id);
  }
  void on_message(chat::client_session&, const chat::Joined& joined,
                  const wiregen::frame_meta& meta) override {
    std::string members;
    for (const auto& member : joined.members()) {
      members += (members.empty() ? "" : ", ") + member;
    }
    record("joined " + joined.room() + " (members: " + members + ")", meta.request_id);
  }
  void on_message(chat::client_session&, const chat::Line& line,
                  const wiregen::frame_meta&) override {
    record("[" + line.room() + "] " + line.user() + ": " + line.text(), 0);
  }
  void on_message(chat::client_session&, const chat::Notice& notice,
                  const wiregen::frame_meta&) override {
    record("* " + notice.text(), 0);
  }
  void on_closed(chat::client_session&, std::error_code reason,
                 const wiregen::connection_stats&) override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (reason && reason != asio::error::eof) {
      std::printf("%s | connection lost: %s\n", label_.c_str(), reason.message().c_str());
    }
    changed_.notify_all();
  }

  /// Waits for a reply carrying `request_id`; true if it came.
  bool wait_reply(std::uint32_t request_id) {
    return wait([&](const event& e) { return e.request_id == request_id; });
  }
  /// Waits for anything received after the last expect() containing `text`.
  bool expect(const std::string& text) {
    return wait([&](const event& e) { return e.text.find(text) != std::string::npos; });
  }

 private:
  struct event {
    std::string text;
    std::uint64_t request_id;
  };

  void record(std::string text, std::uint64_t request_id) {
    std::lock_guard lock(mutex_);
    std::printf("%s | %s\n", label_.c_str(), text.c_str());
    std::fflush(stdout);
    events_.push_back({std::move(text), request_id});
    changed_.notify_all();
  }

  template <class Match>
  bool wait(Match match) {
    std::unique_lock lock(mutex_);
    bool matched = false;
    changed_.wait_for(lock, std::chrono::seconds(5), [&] {
      for (; cursor_ < events_.size() && !matched; ++cursor_) {
        matched = match(events_[cursor_]);
      }
      return matched || closed_;
    });
    return matched;
  }

  std::string label_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<event> events_;
  std::size_t cursor_ = 0;
  bool closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  wiregen::socket_address target;
  std::string label = "chat";
  std::string tls_ca;
  bool have_target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--connect" && !wiregen::parse_socket_address(argv[i + 1], target)) {
      have_target = true;
    } else if (flag == "--name") {
      label = argv[i + 1];
    } else if (flag == "--tls-ca") {
      tls_ca = argv[i + 1];
    }
  }
  if (!have_target || argc % 2 == 0) {
    std::fprintf(
        stderr,
        "usage: %s --connect HOST:PORT|unix:PATH [--name LABEL] [--tls-ca CA.pem] < commands\n",
        argv[0]);
    return 2;
  }

  chat_printer printer(label);
  wiregen::client_options options;
  if (!tls_ca.empty()) {
    // TLS, verifying the server against this CA and the host name dialed.
    options.tls.emplace();
    options.tls->ca_file = tls_ca;
  }
  chat::client client(printer, options);
  if (const auto ec = client.connect(target)) {
    std::fprintf(stderr, "%s | cannot connect: %s\n", label.c_str(), ec.message().c_str());
    return 1;
  }
  const auto session = client.session();
  std::uint32_t next_request_id = 1;
  int status = 0;
  std::string line;
  while (status == 0 && std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    std::string argument;
    words >> command >> argument;
    std::string rest;
    std::getline(words >> std::ws, rest);
    const std::string text = rest.empty() ? argument : argument + " " + rest;
    bool ok = true;
    if (command.empty() || command.starts_with('#')) {
      continue;
    } else if (command == "login") {
      chat::LoginRequest request;
      request.set_user(argument);
      const auto id = next_request_id++;
      ok = !session.send(request, {.request_id = id}) && printer.wait_reply(id);
    } else if (command == "join") {
      chat::JoinRoom join;
      join.set_room(argument);
      const auto id = next_request_id++;
      ok = !session.send(join, {.request_id = id}) && printer.wait_reply(id);
    } else if (command == "say") {
      chat::Say say;
      say.set_room(argument);
      say.set_text(rest);
      ok = !session.send(say);
    } else if (command == "notice") {
      chat::Notice notice;
      notice.set_text(text);
      ok = !session.send(notice);
    } else if (command == "expect") {
      ok = printer.expect(text);
    } else if (command == "quit") {
      break;
    } else {
      std::fprintf(stderr, "%s | unknown command: %s\n", label.c_str(), command.c_str());
      status = 2;
      break;
    }
    if (!ok) {
      std::fprintf(stderr, "%s | '%s' failed (no answer, or the connection closed)\n",
                   label.c_str(), line.c_str());
      status = 1;
    }
  }
  client.stop(wiregen::stop_mode::graceful_wait);
  return status;
}
