#include "wiregen/client.hpp"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <future>
#include <string>

#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// The state of one dial, shared by the resolve, connect and timer handlers;
// whichever finishes first completes it.
struct dial {
  dial(asio::io_context& context, std::chrono::milliseconds timeout)
      : resolver(context), socket(context), timer(context) {
    timer.expires_after(timeout);
  }

  void complete(std::error_code ec) {
    if (done) {
      return;
    }
    done = true;
    timer.cancel();
    resolver.cancel();
    if (ec) {
      std::error_code ignored;
      socket.close(ignored);
    }
    result.set_value(ec);
  }

  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  bool done = false;
  std::promise<std::error_code> result;
};

}  // namespace

client::client(std::shared_ptr<dispatcher> dispatcher, client_options options)
    : dispatcher_(std::move(dispatcher)), options_(options), pool_(1) {}

client::~client() {
  stop(stop_mode::immediate);
  pool_.stop();
}

std::error_code client::connect(std::string_view host, std::uint16_t port) {
  auto context = pool_.first();
  auto attempt = std::make_shared<dial>(*context, options_.connect_timeout);
  auto outcome = attempt->result.get_future();
  asio::post(*context, [attempt, host = std::string(host), port] {
    attempt->timer.async_wait([attempt](std::error_code ec) {
      if (!ec) {
        attempt->complete(error::connect_timeout);
      }
    });
    attempt->resolver.async_resolve(
        host, std::to_string(port),
        [attempt](std::error_code ec, const asio::ip::tcp::resolver::results_type& results) {
          if (ec || attempt->done) {
            attempt->complete(attempt->done ? std::error_code() : ec);
            return;
          }
          asio::async_connect(attempt->socket, results,
                              [attempt](std::error_code connect_ec, const auto&) {
                                attempt->complete(connect_ec);
                              });
        });
  });
  if (const auto ec = outcome.get()) {
    return ec;
  }
  // The dial's handlers are done with the socket once the promise is set, and
  // the socket belongs to the same loop the connection will run on.
  auto conn = std::make_shared<wiregen::connection>(context, std::move(attempt->socket),
                                                    dispatcher_, options_.connection);
  std::promise<void> opened;
  {
    std::lock_guard lock(mutex_);
    if (connection_) {
      connection_->stop(stop_mode::immediate);
    }
    connection_ = conn;
  }
  conn->start();
  // start() posted on_open; the loop runs posts in order, so this one
  // completes after on_connected has run.
  asio::post(*context, [&opened] { opened.set_value(); });
  opened.get_future().wait();
  return {};
}

std::shared_ptr<connection> client::connection() const {
  std::lock_guard lock(mutex_);
  return connection_;
}

void client::stop(stop_mode mode) {
  if (auto conn = connection()) {
    conn->stop(mode);
  }
}

}  // namespace wiregen
