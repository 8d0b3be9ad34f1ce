#include "wiregen/shutdown_signals.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <optional>

namespace wiregen {

struct shutdown_signals::state {
  asio::io_context context{1};
  asio::signal_set signals{context, SIGINT, SIGTERM};
  std::optional<asio::signal_set> reload_signals;
  std::function<void()> reload;

  void await_reload() {
    reload_signals->async_wait([this](std::error_code ec, int) {
      if (ec) {
        return;
      }
      if (reload) {
        reload();
      }
      await_reload();
    });
  }
};

shutdown_signals::shutdown_signals() : state_(std::make_unique<state>()) {}

shutdown_signals::~shutdown_signals() = default;

void shutdown_signals::on_reload(std::function<void()> reload) {
  state_->reload = std::move(reload);
  if (!state_->reload_signals) {
    state_->reload_signals.emplace(state_->context, SIGHUP);
    state_->await_reload();
  }
}

int shutdown_signals::wait() {
  int received = 0;
  state_->signals.async_wait([&](std::error_code ec, int signal_number) {
    if (!ec) {
      received = signal_number;
      // Stop here even if reloads keep the context busy.
      state_->context.stop();
    }
  });
  state_->context.run();
  state_->context.restart();
  return received;
}

}  // namespace wiregen
