#include "wiregen/shutdown_signals.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>

namespace wiregen {

struct shutdown_signals::state {
  asio::io_context context{1};
  asio::signal_set signals{context, SIGINT, SIGTERM};
};

shutdown_signals::shutdown_signals() : state_(std::make_unique<state>()) {}

shutdown_signals::~shutdown_signals() = default;

int shutdown_signals::wait() {
  int received = 0;
  state_->signals.async_wait([&received](std::error_code ec, int signal_number) {
    if (!ec) {
      received = signal_number;
    }
  });
  state_->context.run();
  state_->context.restart();
  return received;
}

}  // namespace wiregen
