#include "admin_listener.hpp"

#include <asio/ip/address.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <memory>

#include "wiregen/server.hpp"
#include "wiregen/server_metrics.hpp"

namespace wiregen::detail {

/// One HTTP connection: reads a request head, answers, closes.
struct admin_listener::exchange : std::enable_shared_from_this<exchange> {
  exchange(const admin_listener& owner, asio::ip::tcp::socket s)
      : admin(owner),
        alive(owner.alive_),
        open(owner.open_),
        socket(std::move(s)),
        deadline(socket.get_executor()) {}
  ~exchange() { open->fetch_sub(1); }

  void start() {
    deadline.expires_after(request_timeout);
    deadline.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        self->socket.close(ignored);  // too slow: the read fails and ends it
      }
    });
    read_more();
  }

  void read_more() {
    socket.async_read_some(asio::buffer(head.data() + used, head.size() - used),
                           [self = shared_from_this()](std::error_code ec, std::size_t n) {
                             if (ec || !*self->alive) {
                               self->deadline.cancel();
                               return;
                             }
                             self->used += n;
                             self->on_bytes();
                           });
  }

  void on_bytes() {
    const std::string_view text(head.data(), used);
    // RFC 9112 lets a server take a bare LF as a line end.
    auto end = text.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      end = text.find("\n\n");
    }
    if (end == std::string_view::npos) {
      if (used == head.size()) {
        reply({431, "Request Header Fields Too Large", "text/plain", "request too large\n"});
      } else {
        read_more();
      }
      return;
    }
    // "GET /metrics HTTP/1.1"
    const auto line = text.substr(0, text.find_first_of("\r\n"));
    const auto first_space = line.find(' ');
    const auto second_space = line.find(' ', first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos ||
        !line.substr(second_space + 1).starts_with("HTTP/1.")) {
      reply({400, "Bad Request", "text/plain", "bad request\n"});
      return;
    }
    reply(admin.answer(line.substr(0, first_space),
                       line.substr(first_space + 1, second_space - first_space - 1)));
  }

  void reply(const response& r) {
    out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(r.reason) +
          "\r\nContent-Type: " + r.content_type +
          "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n";
    if (r.status == 405) {
      out += "Allow: GET\r\n";
    }
    out += "\r\n";
    out += r.body;
    asio::async_write(socket, asio::buffer(out),
                      [self = shared_from_this()](std::error_code, std::size_t) {
                        std::error_code ignored;
                        self->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                        self->socket.close(ignored);
                        self->deadline.cancel();
                      });
  }

  const admin_listener& admin;  // only while *alive: answer() reads it
  std::shared_ptr<bool> alive;  // only while the loop runs: answer() is called from a handler
  std::shared_ptr<std::atomic<std::size_t>> open;
  asio::ip::tcp::socket socket;
  asio::steady_timer deadline;
  std::array<char, max_request_bytes> head{};
  std::size_t used = 0;
  std::string out;
};

admin_listener::admin_listener(asio::io_context& loop, const server& owner)
    : loop_(loop), owner_(owner), acceptor_(loop), retry_(loop) {}

void admin_listener::close() {
  *alive_ = false;
  std::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

std::error_code admin_listener::open(const socket_address& address) {
  if (address.is_unix()) {
    return error::bad_address;
  }
  std::error_code ec;
  asio::ip::tcp::resolver resolver(loop_);
  const auto found = resolver.resolve(address.host, std::to_string(address.port),
                                      asio::ip::tcp::resolver::passive, ec);
  if (ec) {
    return ec;
  }
  const auto endpoint = found.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return ec;
  }
  const auto bound = acceptor_.local_endpoint(ec);
  name_ = socket_address::tcp(bound.address().to_string(), bound.port());
  accept_next();
  return {};
}

void admin_listener::accept_next() {
  acceptor_.async_accept([this, alive = alive_](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!*alive || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // Out of descriptors or memory: wait rather than spin on the loop
      // the data port shares.
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this, alive](std::error_code wait_ec) {
        if (!wait_ec && *alive) {
          accept_next();
        }
      });
      return;
    }
    if (open_->fetch_add(1) < max_connections) {
      try {
        std::make_shared<exchange>(*this, std::move(socket))->start();
      } catch (...) {
        open_->fetch_sub(1);  // out of memory: this one goes unanswered
      }
    } else {
      open_->fetch_sub(1);  // over the bound: closed unanswered
    }
    accept_next();
  });
}

admin_listener::response admin_listener::answer(std::string_view method,
                                                std::string_view target) const {
  const auto path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
    return {404, "Not Found", "text/plain", "not found; try /metrics, /healthz or /readyz\n"};
  }
  if (method != "GET") {
    return {405, "Method Not Allowed", "text/plain", "only GET\n"};
  }
  const auto state = owner_.state();
  if (path == "/healthz") {
    // The process serves (or drains) its connections.
    return state == server_state::stopped
               ? response{503, "Service Unavailable", "text/plain", "stopped\n"}
               : response{200, "OK", "text/plain", "ok\n"};
  }
  if (path == "/readyz") {
    // Ready for new connections only while running: a balancer takes a
    // draining instance out.
    if (owner_.ready()) {
      return {200, "OK", "text/plain", "ready\n"};
    }
    return {503, "Service Unavailable", "text/plain",
            state == server_state::running    ? "shutting down\n"
            : state == server_state::draining ? "draining\n"
                                              : "not running\n"};
  }
  response metrics{200, "OK", "text/plain; version=0.0.4; charset=utf-8", {}};
  write_prometheus(owner_.metrics(), metrics.body);
  return metrics;
}

}  // namespace wiregen::detail
