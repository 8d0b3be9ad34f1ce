#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace wiregen::test {

/// A port free right now on 127.0.0.1 (the kernel picks it; there is a
/// small window before someone else may take it).
inline std::uint16_t free_port() {
  asio::io_context context;
  asio::ip::tcp::acceptor acceptor(context, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

/// A real HAProxy (Debian package haproxy) in the foreground on loopback,
/// relaying TCP to a backend with a PROXY protocol header: `send-proxy`
/// on port v1_port, `send-proxy-v2` on v2_port. Stopped with the object.
class haproxy {
 public:
  explicit haproxy(std::uint16_t backend_port)
      : haproxy("127.0.0.1:" + std::to_string(backend_port)) {}

  /// Relays to `backend`: "host:port", or an absolute path, which HAProxy
  /// takes for a Unix-domain socket.
  explicit haproxy(const std::string& backend) : v1_port(free_port()), v2_port(free_port()) {
    const std::string binary = find_binary();
    config_ = (std::filesystem::temp_directory_path() /
               ("wiregen-haproxy-" + std::to_string(::getpid()) + ".cfg"))
                  .string();
    std::ofstream(config_) << "global\n"
                              "  maxconn 100\n"
                              "defaults\n"
                              "  mode tcp\n"
                              "  timeout connect 5s\n"
                              "  timeout client 30s\n"
                              "  timeout server 30s\n"
                              "frontend v1\n"
                              "  bind 127.0.0.1:"
                           << v1_port
                           << "\n"
                              "  default_backend v1\n"
                              "backend v1\n"
                              "  server wiregen "
                           << backend
                           << " send-proxy\n"
                              "frontend v2\n"
                              "  bind 127.0.0.1:"
                           << v2_port
                           << "\n"
                              "  default_backend v2\n"
                              "backend v2\n"
                              "  server wiregen "
                           << backend << " send-proxy-v2\n";
    std::vector<std::string> args = {binary, "-db", "-q", "-f", config_};
    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + binary);
    }
  }

  haproxy(const haproxy&) = delete;
  haproxy& operator=(const haproxy&) = delete;

  ~haproxy() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::error_code ignored;
    std::filesystem::remove(config_, ignored);
  }

  const std::uint16_t v1_port;
  const std::uint16_t v2_port;

 private:
  static std::string find_binary() {
    for (const char* candidate :
         {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"}) {
      if (::access(candidate, X_OK) == 0) {
        return candidate;
      }
    }
    // A missing HAProxy fails the test: scripts/install-deps.sh installs it.
    throw std::runtime_error("haproxy not found: install the Debian package haproxy");
  }

  std::string config_;
  pid_t pid_ = 0;
};

}  // namespace wiregen::test
