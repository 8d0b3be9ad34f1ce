#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "wiregen/connection.hpp"

namespace wiregen::detail {

/// What a connection does before it is served, in order: read a PROXY
/// protocol header (from a trusted proxy only), pass admission (a server's
/// on_accept and per-address limits, which then see the client's address),
/// then the TLS handshake; all of it under one deadline, so a peer that
/// connects and stalls holds nothing for long. The connection drops it once
/// it is open. Connection thread only.
class startup {
 public:
  /// `done` runs once: with {} when the connection may open, else with why
  /// it is refused. It is not called when the connection closed meanwhile.
  using done_handler = void (*)(connection&, std::error_code);

  startup(connection_setup setup, std::function<void(std::error_code)> started)
      : trusted_proxies_(std::move(setup.trusted_proxies)),
        admit_(std::move(setup.admit)),
        handshake_slot_(std::move(setup.handshake_slot)),
        started_(std::move(started)) {}

  /// Whether anything at all happens before the connection opens.
  static bool needed(const connection_setup& setup) noexcept {
    return setup.tls || setup.trusted_proxies || setup.admit;
  }

  /// Runs every step for `conn`; its deadline (handshake_timeout) is the
  /// connection's peer_deadline.
  void run(const std::shared_ptr<connection>& conn, done_handler done);

  /// Tells whoever waits for the connection to start (a client's
  /// connect()) how it went; once.
  void report(std::error_code outcome) {
    if (auto started = std::exchange(started_, nullptr)) {
      started(outcome);
    }
  }
  void set_started(std::function<void(std::error_code)> started) { started_ = std::move(started); }

 private:
  void read_proxy_header(const std::shared_ptr<connection>& conn);
  void admit(const std::shared_ptr<connection>& conn);
  void finish(connection& conn, std::error_code outcome);

  std::shared_ptr<const std::vector<proxy_protocol::network>> trusted_proxies_;
  std::function<std::error_code(connection&)> admit_;
  std::shared_ptr<void> handshake_slot_;
  std::function<void(std::error_code)> started_;
  std::vector<std::uint8_t> proxy_bytes_;
  done_handler done_ = nullptr;
};

}  // namespace wiregen::detail
