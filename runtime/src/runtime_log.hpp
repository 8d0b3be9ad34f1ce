#pragma once

// What the runtime logs, one function per kind of event, each with its
// level (docs/operations.md, "Logging"). Every function returns at once
// when there is no logger or the level is below its threshold, before it
// formats or allocates anything.
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <system_error>

#include "wiregen/address.hpp"
#include "wiregen/detail/log_emitter.hpp"
#include "wiregen/server_state.hpp"

namespace wiregen {
class connection;
}  // namespace wiregen

namespace wiregen::detail::log {

// Servers.
void listening(log_emitter* to, const socket_address& address) noexcept;
void listen_failed(log_emitter* to, const socket_address& address, std::error_code ec) noexcept;
void server_changed(log_emitter* to, server_state state, const server_counts& counts) noexcept;
void accept_failed(log_emitter* to, std::error_code ec, std::chrono::milliseconds backoff) noexcept;
void listener_closed(log_emitter* to, std::error_code ec) noexcept;
void refused(log_emitter* to, const asio::ip::tcp::endpoint& remote,
             std::error_code reason) noexcept;

// Connections, of servers and clients alike.
void opened(log_emitter* to, const connection& conn) noexcept;
/// A connection that never opened was refused (its TLS handshake or PROXY
/// header failed, admission turned it away): logged as such.
void closed(log_emitter* to, const connection& conn, std::error_code reason) noexcept;

// Clients.
void connected(log_emitter* to, const socket_address& target) noexcept;
/// `retry_after` is zero when this was the last attempt.
void dial_failed(log_emitter* to, const socket_address& target, std::error_code ec,
                 unsigned attempt, std::chrono::milliseconds retry_after) noexcept;
void redial(log_emitter* to, const socket_address& target, std::chrono::milliseconds after,
            std::error_code reason) noexcept;

}  // namespace wiregen::detail::log
