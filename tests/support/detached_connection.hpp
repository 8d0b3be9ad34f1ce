#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>

#include "wiregen/connection.hpp"

namespace wiregen::test {

/// A connection that is never started, for feeding bytes straight to a
/// dispatcher: what a handler sends is queued and never written.
inline std::shared_ptr<connection> detached_connection(std::shared_ptr<stream_dispatcher> d) {
  auto context = std::make_shared<asio::io_context>(1);
  stream_socket socket(*context);
  return std::make_shared<connection>(
      connection::share_home({context, std::move(d), nullptr, nullptr, nullptr, {}}),
      std::move(socket));
}

}  // namespace wiregen::test
