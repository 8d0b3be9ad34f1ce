// The practical limit: a hand-written single-thread epoll echo server for
// the bench protocol (../shared/bench-protocol.md), parsing each request
// and serializing each reply with protobuf as wiregen does, but with
// nothing else: no queues, no timers, no handles. Level-triggered epoll,
// reads until EAGAIN, answers every complete frame, writes once per read.
//
//   epoll_echo_server --listen 127.0.0.1:7000
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "echo.pb.h"

namespace {

volatile sig_atomic_t stopping = 0;

struct connection {
  std::vector<std::uint8_t> in;
  std::vector<std::uint8_t> out;
  std::size_t out_sent = 0;
  bool want_write = false;
};

std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

bool flush(int fd, connection& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::write(fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent);
    if (n < 0) {
      return errno == EAGAIN || errno == EINTR;
    }
    c.out_sent += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.out_sent = 0;
  return true;
}

// Answers every complete frame in c.in; false on a bad frame.
bool answer(connection& c, bench::EchoRequest& request, bench::EchoReply& reply) {
  std::size_t at = 0;
  while (c.in.size() - at >= 6) {
    const std::uint32_t length = load_be32(c.in.data() + at);
    if (length < 2 || length > 4 * 1024 * 1024) {
      return false;
    }
    if (c.in.size() - at < 4 + std::size_t{length}) {
      break;
    }
    const std::uint8_t* payload = c.in.data() + at + 6;
    if (c.in[at + 4] != 0 || c.in[at + 5] != 1 ||
        !request.ParseFromArray(payload, static_cast<int>(length - 2))) {
      return false;
    }
    reply.set_seq(request.seq());
    reply.set_payload(request.payload());
    const std::size_t size = reply.ByteSizeLong();
    const std::size_t start = c.out.size();
    c.out.resize(start + 6 + size);
    std::uint8_t* frame = c.out.data() + start;
    const std::uint32_t out_length = static_cast<std::uint32_t>(size + 2);
    frame[0] = static_cast<std::uint8_t>(out_length >> 24);
    frame[1] = static_cast<std::uint8_t>(out_length >> 16);
    frame[2] = static_cast<std::uint8_t>(out_length >> 8);
    frame[3] = static_cast<std::uint8_t>(out_length);
    frame[4] = 0;
    frame[5] = 2;
    reply.SerializeWithCachedSizesToArray(frame + 6);
    at += 4 + length;
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
  return true;
}

int listen_on(const char* text) {
  const std::string spec = text;
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) {
    return -1;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(spec.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, spec.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 4096) != 0) {
    return -1;
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::fprintf(stderr, "epoll_echo_server: listening on %s:%u\n", spec.substr(0, colon).c_str(),
               ntohs(address.sin_port));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--listen") != 0) {
    std::fprintf(stderr, "usage: %s --listen HOST:PORT\n", argv[0]);
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = [](int) { stopping = 1; };
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const int listener = listen_on(argv[2]);
  if (listener < 0) {
    std::perror("epoll_echo_server: listen");
    return 1;
  }
  const int poller = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  ::epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);

  std::unordered_map<int, connection> connections;
  bench::EchoRequest request;
  bench::EchoReply reply;
  std::vector<epoll_event> ready(1024);
  std::uint8_t chunk[65536];
  while (!stopping) {
    const int count = ::epoll_wait(poller, ready.data(), static_cast<int>(ready.size()), -1);
    for (int i = 0; i < count; ++i) {
      const int fd = ready[static_cast<std::size_t>(i)].data.fd;
      if (fd == listener) {
        int client;
        while ((client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
               0) {
          const int one = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          connections.emplace(client, connection{});
          epoll_event added{};
          added.events = EPOLLIN;
          added.data.fd = client;
          ::epoll_ctl(poller, EPOLL_CTL_ADD, client, &added);
        }
        continue;
      }
      connection& c = connections[fd];
      bool open = true;
      if (ready[static_cast<std::size_t>(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          const ssize_t n = ::read(fd, chunk, sizeof chunk);
          if (n > 0) {
            c.in.insert(c.in.end(), chunk, chunk + n);
            continue;
          }
          open = n < 0 && (errno == EAGAIN || errno == EINTR);
          break;
        }
        open = answer(c, request, reply) && open;
      }
      open = open && flush(fd, c);
      const bool want_write = c.out_sent < c.out.size();
      if (open && want_write != c.want_write) {
        epoll_event changed{};
        changed.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
        changed.data.fd = fd;
        ::epoll_ctl(poller, EPOLL_CTL_MOD, fd, &changed);
        c.want_write = want_write;
      }
      if (!open) {
        ::close(fd);
        connections.erase(fd);
      }
    }
  }
  for (auto& [fd, c] : connections) {
    ::close(fd);
  }
  std::fprintf(stderr, "epoll_echo_server: stopped\n");
  return 0;
}
