#include "listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include "socket_names.hpp"

namespace wiregen::detail {

namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

std::error_code set_reuse_port(stream_acceptor& acceptor) {
  const int on = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    return last_error();
  }
  return {};
}

// Whether a server answers on the socket file at `endpoint`: a connect that
// is refused means whoever bound it is gone. Non-blocking, so a live server
// with a full backlog (EAGAIN) counts as live rather than stalling listen().
bool answers(const asio::generic::stream_protocol::endpoint& endpoint) {
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    return true;  // cannot tell: leave the file alone
  }
  const int result = ::connect(probe, endpoint.data(), static_cast<socklen_t>(endpoint.size()));
  const bool refused = result != 0 && (errno == ECONNREFUSED || errno == ENOENT);
  ::close(probe);
  return !refused;
}

// A socket file may be replaced only when nobody listens on it any more;
// any other file in the way is the user's, never removed.
std::error_code clear_stale_socket(const std::string& path,
                                   const asio::generic::stream_protocol::endpoint& endpoint) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    return errno == ENOENT ? std::error_code() : last_error();
  }
  if (!S_ISSOCK(status.st_mode)) {
    return std::make_error_code(std::errc::file_exists);
  }
  if (answers(endpoint)) {
    return std::make_error_code(std::errc::address_in_use);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return last_error();
  }
  return {};
}

}  // namespace

listener::listener(asio::io_context& accept_loop)
    : acceptor(accept_loop.get_executor()), retry(accept_loop) {}

listener::~listener() {
  close();
}

std::error_code listener::open_tcp(const asio::generic::stream_protocol::endpoint& tcp,
                                   bool reuse_port) {
  std::error_code ec;
  acceptor.open(tcp.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && reuse_port) {
    ec = set_reuse_port(acceptor);
  }
  if (!ec) {
    acceptor.bind(tcp, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (!ec) {
    const auto bound = local_name(acceptor.native_handle());
    ec = bound ? std::error_code() : last_error();
    if (bound) {
      name_ = *bound;
    }
  }
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

std::error_code listener::open_unix(const socket_address& address,
                                    const unix_socket_options& file) {
  const auto endpoint = unix_endpoint(address);
  const bool has_file = address.type == socket_address::kind::unix_path;
  std::error_code ec;
  if (has_file) {
    ec = clear_stale_socket(address.path, endpoint);
  }
  if (!ec) {
    acceptor.open(endpoint.protocol(), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec && has_file) {
    struct stat status {};
    if (::lstat(address.path.c_str(), &status) == 0) {
      made_file_ = address.path;
      made_device_ = status.st_dev;
      made_inode_ = status.st_ino;
    }
    // Before listen(): until then nobody can connect, whatever the umask
    // let through for a moment.
    if (file.mode != 0 && ::chmod(address.path.c_str(), file.mode) != 0) {
      ec = last_error();
    }
    if (!ec && (file.owner || file.group) &&
        ::lchown(address.path.c_str(), file.owner ? *file.owner : static_cast<uid_t>(-1),
                 file.group ? *file.group : static_cast<gid_t>(-1)) != 0) {
      ec = last_error();
    }
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    close();
    return ec;
  }
  name_ = address;
  return {};
}

std::error_code listener::adopt(int descriptor) {
  int type = 0;
  int listening = 0;
  socklen_t size = sizeof type;
  if (::getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &size) != 0) {
    return last_error();  // ENOTSOCK, EBADF
  }
  size = sizeof listening;
  if (::getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0) {
    return last_error();
  }
  if (type != SOCK_STREAM || listening == 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(descriptor, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return last_error();
  }
  int protocol = 0;
  size = sizeof protocol;
  (void)::getsockopt(descriptor, SOL_SOCKET, SO_PROTOCOL, &protocol, &size);
  // Inherited descriptors must not leak further into processes this one starts.
  (void)::fcntl(descriptor, F_SETFD, FD_CLOEXEC);
  std::error_code ec;
  acceptor.assign(asio::generic::stream_protocol(storage.ss_family, protocol), descriptor, ec);
  if (ec) {
    return ec;
  }
  name_ = name_of(reinterpret_cast<const sockaddr*>(&storage), length);
  return {};
}

void listener::close() {
  std::error_code ignored;
  acceptor.close(ignored);
  retry.cancel();
  if (made_file_.empty()) {
    return;
  }
  struct stat status {};
  if (::lstat(made_file_.c_str(), &status) == 0 && status.st_dev == made_device_ &&
      status.st_ino == made_inode_) {
    ::unlink(made_file_.c_str());
  }
  made_file_.clear();
}

}  // namespace wiregen::detail
