// A typical hand-written Asio echo server for the bench protocol: one
// session object per connection, async_read of the 4-byte length, then of
// the frame, parse, serialize, one async_write per reply, then the next
// read. This is how most Asio servers are written; it serves as the
// "typical code" baseline wiregen is compared with.
//
//   asio_echo_server --listen 127.0.0.1:7000
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "echo.pb.h"

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { read_length(); }

 private:
  void read_length() {
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](std::error_code ec, std::size_t) {
                       if (!ec) {
                         self->read_frame();
                       }
                     });
  }

  void read_frame() {
    const std::uint32_t length = (std::uint32_t{length_[0]} << 24) |
                                 (std::uint32_t{length_[1]} << 16) |
                                 (std::uint32_t{length_[2]} << 8) | length_[3];
    if (length < 2 || length > 4 * 1024 * 1024) {
      return;
    }
    frame_.resize(length);
    asio::async_read(socket_, asio::buffer(frame_),
                     [self = shared_from_this()](std::error_code ec, std::size_t) {
                       if (!ec) {
                         self->answer();
                       }
                     });
  }

  void answer() {
    bench::EchoRequest request;
    if (!request.ParseFromArray(frame_.data() + 2, static_cast<int>(frame_.size() - 2))) {
      return;
    }
    bench::EchoReply reply;
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    const std::string payload = reply.SerializeAsString();
    const auto length = static_cast<std::uint32_t>(payload.size() + 2);
    out_ = {static_cast<char>(length >> 24),
            static_cast<char>(length >> 16),
            static_cast<char>(length >> 8),
            static_cast<char>(length),
            0,
            2};
    out_ += payload;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (!ec) {
                          self->read_length();
                        }
                      });
  }

  asio::ip::tcp::socket socket_;
  std::uint8_t length_[4];
  std::vector<std::uint8_t> frame_;
  std::string out_;
};

void accept(asio::ip::tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true));
      std::make_shared<session>(std::move(socket))->start();
    }
    if (acceptor.is_open()) {
      accept(acceptor);
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--listen") != 0) {
    std::fprintf(stderr, "usage: %s --listen HOST:PORT\n", argv[0]);
    return 2;
  }
  const std::string spec = argv[2];
  const auto colon = spec.rfind(':');
  asio::io_context context(1);
  asio::ip::tcp::acceptor acceptor(context,
                                   {asio::ip::make_address(spec.substr(0, colon)),
                                    static_cast<std::uint16_t>(std::stoi(spec.substr(colon + 1)))});
  std::fprintf(stderr, "asio_echo_server: listening on %s:%u\n", spec.substr(0, colon).c_str(),
               acceptor.local_endpoint().port());
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { context.stop(); });
  accept(acceptor);
  context.run();
  std::fprintf(stderr, "asio_echo_server: stopped\n");
  return 0;
}
