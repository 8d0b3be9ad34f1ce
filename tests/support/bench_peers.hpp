#pragma once

// Handlers for the bench (echo) protocol that record what happens to them,
// shared by the runtime tests.
#include "echo.wiregen.h"

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/gate.hpp"
#include "support/options.hpp"
#include "support/waiter.hpp"

namespace wiregen::test {

/// A server handler that echoes unless `on_request` says otherwise, and
/// records every session, close, error and writability change.
class recording_server final : public bench::server_handler {
 public:
  std::function<void(bench::server_session&, const bench::EchoRequest&)> on_request;
  error_action policy = error_action::disconnect;

  std::function<void(bench::server_session&)> on_open;

  void on_connected(bench::server_session& session) override {
    events.update([&] { sessions.push_back(session); });
    if (on_open) {
      on_open(session);
    }
  }

  void on_message(bench::server_session& session, const bench::EchoRequest& request) override {
    if (on_request) {
      on_request(session, request);
      return;
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    (void)session.send(reply);
  }

  error_action on_error(bench::server_session&, std::error_code ec) override {
    events.update([&] { errors.push_back(ec); });
    return policy;
  }

  void on_listen_error(const socket_address&, std::error_code ec) override {
    events.update([&] { listen_errors.push_back(ec); });
  }

  void on_server_state(server_state state, const server_counts& counts) override {
    events.update([&] { states.emplace_back(state, counts); });
  }

  void on_writability_changed(bench::server_session&, bool writable) override {
    events.update([&] { writability.push_back(writable); });
  }

  void on_closed(bench::server_session&, std::error_code reason,
                 const connection_stats& stats) override {
    events.update([&] {
      reasons.push_back(reason);
      closed_stats.push_back(stats);
    });
  }

  bool wait_sessions(std::size_t n) {
    return events.wait([&] { return sessions.size() >= n; });
  }
  bool wait_closed(std::size_t n) {
    return events.wait([&] { return reasons.size() >= n; });
  }
  bench::server_session session(std::size_t i = 0) {
    return events.read([&] { return sessions.at(i); });
  }

  waiter events;
  std::vector<bench::server_session> sessions;
  std::vector<std::error_code> errors;
  std::vector<std::error_code> listen_errors;
  std::vector<std::pair<server_state, server_counts>> states;
  std::vector<bool> writability;
  std::vector<std::error_code> reasons;
  std::vector<connection_stats> closed_stats;
};

/// A client handler that counts replies; with `hold` set, its I/O thread
/// stops at the gate on the first reply, so the client stops reading.
class reply_counter final : public bench::client_handler {
 public:
  gate* hold = nullptr;

  void on_connected(bench::client_session&) override {
    events.update([&] { ++connected; });
  }

  void on_message(bench::client_session&, const bench::EchoReply& reply) override {
    if (hold != nullptr) {
      hold->pass();
    }
    events.update([&] {
      in_order = in_order && reply.seq() == next_seq;
      next_seq = reply.seq() + 1;
      ++received;
      payload_bytes += reply.payload().size();
    });
  }

  void on_closed(bench::client_session&, std::error_code reason, const connection_stats&) override {
    events.update([&] { reasons.push_back(reason); });
  }

  void on_connect_failed(std::error_code ec) override {
    events.update([&] { dial_errors.push_back(ec); });
  }

  bool wait_received(std::uint64_t n) {
    return events.wait([&] { return received >= n; });
  }
  std::uint64_t count() {
    return events.read([&] { return received; });
  }

  waiter events;
  int connected = 0;
  std::uint64_t received = 0;
  std::uint64_t next_seq = 0;
  std::uint64_t payload_bytes = 0;
  bool in_order = true;
  std::vector<std::error_code> reasons;
  std::vector<std::error_code> dial_errors;
};

/// An EchoReply of `size` payload bytes.
inline bench::EchoReply reply_of(std::uint64_t seq, std::size_t size) {
  bench::EchoReply reply;
  reply.set_seq(seq);
  reply.set_payload(std::string(size, 'r'));
  return reply;
}

/// Options for a server whose connections fill their queues quickly.
inline server_options small_queue_server(std::size_t max_queued_bytes) {
  server_options options;
  options.io_threads = 1;
  options.connection.max_queued_bytes = max_queued_bytes;
  options.connection.low_watermark = max_queued_bytes / 4;
  options.connection.send_buffer_size = 4096;
  return options;
}

/// Options for a client that reads through a small receive buffer.
inline client_options small_buffer_client() {
  client_options options;
  options.connection.receive_buffer_size = 4096;
  return options;
}

}  // namespace wiregen::test
