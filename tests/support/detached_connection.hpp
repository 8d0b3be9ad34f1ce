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
  // GCC 12 at -O2 with -fsanitize=thread reports Asio's move of a socket that
  // was never opened as a read of uninitialized reactor data; the move copies
  // a field the unopened socket never reads, so the warning is a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  stream_socket socket(*context);
  auto made = std::make_shared<connection>(
      connection::share_home(
          {context, std::move(d), nullptr, nullptr, nullptr, {}, nullptr, nullptr}),
      std::move(socket));
#pragma GCC diagnostic pop
  return made;
}

}  // namespace wiregen::test
