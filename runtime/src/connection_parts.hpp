#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <any>
#include <chrono>
#include <memory>
#include <optional>
#include <system_error>

#include "liveness.hpp"
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

/// The parts few connections need, together behind one pointer: the
/// timeouts, the rate limit, a graceful stop under way, the application's
/// data.
struct connection::occasional_parts {
  std::unique_ptr<detail::liveness> liveness;
  std::unique_ptr<rate_state> rate;
  std::unique_ptr<drain_state> drain;
  std::any user_data;
  // Set by set_max_frame_size: the limit instead of the options'.
  std::optional<std::size_t> max_frame_size;
};

inline detail::liveness* connection::liveness() const noexcept {
  return occasional_ ? occasional_->liveness.get() : nullptr;
}

inline connection::rate_state* connection::rate() const noexcept {
  return occasional_ ? occasional_->rate.get() : nullptr;
}

}  // namespace wiregen
