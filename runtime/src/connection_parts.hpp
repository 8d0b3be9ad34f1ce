#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <system_error>

#include "wiregen/connection.hpp"
#include "wiregen/detail/token_bucket.hpp"

namespace wiregen {

/// The message rate limit, for connections that have one: the bucket the
/// frame loop's gate takes from, and the wait that ends a throttle.
struct connection::rate_state {
  rate_state(asio::io_context& context, const connection_options& options)
      : bucket(options.message_rate, options.message_burst, clock::now()), timer(context) {}
  detail::token_bucket bucket;
  asio::steady_timer timer;
  bool throttled = false;
};

/// A graceful stop under way: its deadline and the reason it closes with.
struct connection::drain_state {
  explicit drain_state(asio::io_context& context) : timer(context) {}
  asio::steady_timer timer;
  std::error_code reason;
  clock::time_point until;
};

}  // namespace wiregen
