// A key-value store whose every call is traced: a wiregen::message_observer
// prints one line per call (rpc, connection, request id, outcome, handler
// time, request and reply sizes), the shape an OpenTelemetry span would take
// (docs/operations.md, "Tracing"). With --demo it also runs a client that
// makes a few calls, then stops; without, it serves until SIGINT or SIGTERM.
//
//   kv_tracing --listen 127.0.0.1:7100
//   kv_tracing --listen 127.0.0.1:0 --demo
//
// One line per call on stdout, e.g.
//   call Store.Get conn=1 request_id=2 failed status=404 handler=3.1us in=17B out=31B
#include <asio/use_future.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <wiregen/address.hpp>
#include <wiregen/message_observer.hpp>
#include <wiregen/shutdown_signals.hpp>

#include "kv.wiregen.h"

namespace {

using namespace std::chrono_literals;

/// One line per call. A call's request and reply are frames with its
/// request id on its connection: their sizes are kept from the frame events
/// until the call ends. (An OpenTelemetry adapter would start a span in
/// on_call_begin and end it in on_call_end, keyed the same way.)
class call_printer final : public wiregen::message_observer {
 public:
  void on_frame_received(const wiregen::frame_event& frame) override {
    std::lock_guard lock(mutex_);
    open_[key(frame.connection_id, frame.meta.request_id)].in = frame.size;
  }
  void on_frame_sent(const wiregen::frame_event& frame) override {
    std::lock_guard lock(mutex_);
    if (const auto found = open_.find(key(frame.connection_id, frame.meta.request_id));
        found != open_.end()) {
      found->second.out = frame.size;  // a push (request id 0) answers no call
    }
  }
  void on_call_end(const wiregen::call_event& call) override {
    static constexpr const char* outcomes[] = {"ok", "failed", "deferred", "threw", "unsent"};
    sizes seen;
    {
      std::lock_guard lock(mutex_);
      const auto found = open_.find(key(call.connection_id, call.meta.request_id));
      if (found != open_.end()) {
        seen = found->second;
        open_.erase(found);
      }
    }
    std::string status;
    if (call.outcome == wiregen::call_outcome::failed) {
      status = " status=" + std::to_string(call.status_code);
    }
    std::printf("call %.*s conn=%" PRIu64 " request_id=%" PRIu64
                " %s%s handler=%.1fus in=%zuB "
                "out=%zuB\n",
                static_cast<int>(call.rpc->name.size()), call.rpc->name.data(), call.connection_id,
                call.meta.request_id, outcomes[static_cast<int>(call.outcome)], status.c_str(),
                std::chrono::duration<double, std::micro>(call.handler_time).count(), seen.in,
                seen.out);
    std::fflush(stdout);
  }

 private:
  struct sizes {
    std::size_t in = 0;
    std::size_t out = 0;
  };
  static std::pair<std::uint64_t, std::uint64_t> key(std::uint64_t conn, std::uint64_t id) {
    return {conn, id};
  }
  std::mutex mutex_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, sizes> open_;
};

class store final : public kv::server_handler {
 public:
  wiregen::call_result<kv::GetReply> Get(kv::server_session&, const kv::GetRequest& request,
                                         const wiregen::frame_meta&) override {
    std::lock_guard lock(mutex_);
    const auto found = values_.find(request.key());
    if (found == values_.end()) {
      return wiregen::call_result<kv::GetReply>::failure(404, "no key " + request.key());
    }
    kv::GetReply reply;
    reply.set_value(found->second);
    return reply;
  }
  wiregen::call_result<kv::PutReply> Put(kv::server_session&, const kv::PutRequest& request,
                                         const wiregen::frame_meta&) override {
    std::lock_guard lock(mutex_);
    kv::PutReply reply;
    reply.set_previous(values_[request.key()]);
    values_[request.key()] = request.value();
    return reply;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> values_;
};

class quiet_client final : public kv::client_handler {
 public:
  void on_message(kv::client_session&, const kv::Changed&, const wiregen::frame_meta&) override {}
};

/// Three calls: a put, a get of what it put, a get of a key nobody put.
int demo(std::uint16_t port) {
  quiet_client handler;
  kv::client client(handler);
  if (const auto ec = client.connect("127.0.0.1", port)) {
    std::fprintf(stderr, "kv_tracing: cannot connect: %s\n", ec.message().c_str());
    return 1;
  }
  kv::PutRequest put;
  put.set_key("colour");
  put.set_value("blue");
  kv::GetRequest get;
  get.set_key("colour");
  kv::GetRequest missing;
  missing.set_key("size");
  const bool answered = client.Put(put, 5s, asio::use_future).get().ok() &&
                        client.Get(get, 5s, asio::use_future).get().ok() &&
                        client.Get(missing, 5s, asio::use_future).get().status_code() == 404;
  return answered ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  wiregen::socket_address address;
  bool run_demo = false;
  bool listening = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && i + 1 < argc && !wiregen::parse_socket_address(argv[++i], address)) {
      listening = true;
    } else if (flag == "--demo") {
      run_demo = true;
    } else {
      std::fprintf(stderr, "usage: %s --listen HOST:PORT [--demo]\n", argv[0]);
      return 2;
    }
  }
  if (!listening) {
    std::fprintf(stderr, "usage: %s --listen HOST:PORT [--demo]\n", argv[0]);
    return 2;
  }
  wiregen::shutdown_signals signals;
  store handler;
  wiregen::server_options options;
  options.io_threads = 1;
  options.observer = std::make_shared<call_printer>();
  kv::server server(handler, options);
  if (const auto ec = server.listen(address)) {
    std::fprintf(stderr, "kv_tracing: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "kv_tracing: listening on %s\n",
               server.local_addresses().front().to_string().c_str());
  if (run_demo) {
    const int status = demo(server.port());
    server.stop();
    return status;
  }
  signals.wait();
  server.stop();
  return 0;
}
