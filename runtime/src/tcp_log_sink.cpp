// A logger that sends its lines to a collector over TCP from a thread of
// its own. write() formats and appends to a bounded buffer, nothing more:
// the event loop that logs never waits for the network.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "wiregen/log.hpp"

namespace wiregen {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::chrono::seconds redial_after{1};
// Bounds a connect and each send: a collector that stops reading costs the
// sink's thread a second, then a reconnect, never the server anything.
constexpr timeval socket_timeout{1, 0};

int dial(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return -1;
  }
  int connected = -1;
  for (auto* candidate = found; candidate != nullptr && connected < 0;
       candidate = candidate->ai_next) {
    const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC,
                            candidate->ai_protocol);
    if (fd < 0) {
      continue;
    }
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &socket_timeout, sizeof socket_timeout);
    if (::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0) {
      connected = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  return connected;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

class tcp_sink final : public logger {
 public:
  tcp_sink(std::string host, std::uint16_t port, log_level threshold, log_format format,
           std::size_t max_buffered_bytes)
      : logger(threshold),
        host_(std::move(host)),
        port_(port),
        format_(format),
        max_buffered_(max_buffered_bytes),
        sender_([this] { run(); }) {}

  ~tcp_sink() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    sender_.join();
  }

  void write(const log_record& record) noexcept override {
    try {
      std::string line;
      format_line(record, format_, line);
      {
        std::lock_guard lock(mutex_);
        if (buffer_.size() + line.size() > max_buffered_) {
          ++dropped_;
          return;
        }
        buffer_ += line;
      }
      wake_.notify_one();
    } catch (...) {
      std::lock_guard lock(mutex_);
      ++dropped_;
    }
  }

 private:
  void run() noexcept {
    int fd = -1;
    auto next_dial = clock_type::time_point{};
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !buffer_.empty(); });
      if (buffer_.empty() || (stopping_ && fd < 0)) {
        break;  // all sent; or stopping with no collector: no dial to wait for
      }
      if (fd < 0) {
        if (clock_type::now() < next_dial) {
          wake_.wait_until(lock, next_dial, [&] { return stopping_; });
          continue;
        }
        lock.unlock();
        fd = dial(host_, port_);
        lock.lock();
        if (fd < 0) {
          next_dial = clock_type::now() + redial_after;
          continue;
        }
      }
      // Taken whole, without copying under the lock that write() takes.
      std::string out;
      out.swap(buffer_);
      const auto dropped = std::exchange(dropped_, 0);
      lock.unlock();
      bool sent = true;
      if (dropped > 0) {
        try {
          sent = send_all(fd, dropped_line(dropped));
        } catch (...) {
          // Out of memory for the notice: the count is lost, the lines are not.
        }
      }
      sent = sent && send_all(fd, out);
      lock.lock();
      if (!sent) {
        ::close(fd);
        fd = -1;
        dropped_ += dropped + static_cast<std::uint64_t>(std::count(out.begin(), out.end(), '\n'));
        next_dial = clock_type::now() + redial_after;
      }
    }
    if (fd >= 0) {
      ::close(fd);
    }
  }

  std::string dropped_line(std::uint64_t dropped) const {
    const auto count = std::to_string(dropped);
    const log_field fields[] = {{"dropped", count}};
    log_record record;
    record.level = log_level::warning;
    record.event = "log_dropped";
    record.fields = fields;
    std::string line;
    format_line(record, format_, line);
    return line;
  }

  const std::string host_;
  const std::uint16_t port_;
  const log_format format_;
  const std::size_t max_buffered_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string buffer_;         // whole lines waiting for the collector
  std::uint64_t dropped_ = 0;  // records lost since the last log_dropped
  bool stopping_ = false;
  std::thread sender_;  // last: starts once the rest is ready
};

}  // namespace

std::shared_ptr<logger> tcp_logger(std::string host, std::uint16_t port, log_level threshold,
                                   log_format format, std::size_t max_buffered_bytes) {
  return std::make_shared<tcp_sink>(std::move(host), port, threshold, format, max_buffered_bytes);
}

}  // namespace wiregen
