#include "wiregen/proxy_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#include "wiregen/error.hpp"

namespace wiregen::proxy_protocol {

namespace {

constexpr std::array<std::uint8_t, 12> v2_signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view v1_prefix = "PROXY ";

bool starts_like(std::span<const std::uint8_t> bytes, const std::uint8_t* expected,
                 std::size_t size) {
  const std::size_t n = std::min(bytes.size(), size);
  return std::memcmp(bytes.data(), expected, n) == 0;
}

bool parse_port(std::string_view text, std::uint16_t& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535 || text.empty() ||
      (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

std::error_code parse_v1(std::string_view line, header& out) {
  // "PROXY TCP4 198.51.100.22 203.0.113.7 35646 80" (the CRLF is stripped)
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start <= line.size();) {
    const std::size_t space = std::min(line.find(' ', start), line.size());
    words.push_back(line.substr(start, space - start));
    start = space + 1;
  }
  if (words.size() >= 2 && words[0] == "PROXY" && words[1] == "UNKNOWN") {
    out.local = true;
    return {};
  }
  if (words.size() != 6 || words[0] != "PROXY" || (words[1] != "TCP4" && words[1] != "TCP6")) {
    return error::bad_proxy_header;
  }
  std::error_code ec;
  const auto source = asio::ip::make_address(std::string(words[2]), ec);
  if (ec) {
    return error::bad_proxy_header;
  }
  const auto destination = asio::ip::make_address(std::string(words[3]), ec);
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  if (ec || source.is_v4() != (words[1] == "TCP4") || destination.is_v4() != source.is_v4() ||
      !parse_port(words[4], source_port) || !parse_port(words[5], destination_port)) {
    return error::bad_proxy_header;
  }
  out.source = {source, source_port};
  out.destination = {destination, destination_port};
  return {};
}

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::error_code parse_v2(std::span<const std::uint8_t> bytes, header& out) {
  const std::uint8_t version_command = bytes[12];
  const std::uint8_t family = bytes[13];
  const std::size_t length = load16(&bytes[14]);
  const auto* body = bytes.data() + 16;
  if ((version_command >> 4) != 2 || bytes.size() != 16 + length) {
    return error::bad_proxy_header;
  }
  const int command = version_command & 0x0F;
  if (command == 0) {  // LOCAL: the balancer itself, e.g. a health check
    out.local = true;
    return {};
  }
  if (command != 1) {
    return error::bad_proxy_header;
  }
  if (family == 0x11 && length >= 12) {  // TCP over IPv4
    asio::ip::address_v4::bytes_type source;
    asio::ip::address_v4::bytes_type destination;
    std::copy(body, body + 4, source.begin());
    std::copy(body + 4, body + 8, destination.begin());
    out.source = {asio::ip::address_v4(source), load16(body + 8)};
    out.destination = {asio::ip::address_v4(destination), load16(body + 10)};
    return {};
  }
  if (family == 0x21 && length >= 36) {  // TCP over IPv6
    asio::ip::address_v6::bytes_type source;
    asio::ip::address_v6::bytes_type destination;
    std::copy(body, body + 16, source.begin());
    std::copy(body + 16, body + 32, destination.begin());
    out.source = {asio::ip::address_v6(source), load16(body + 32)};
    out.destination = {asio::ip::address_v6(destination), load16(body + 34)};
    return {};
  }
  if (family == 0x00) {  // UNSPEC: nothing to report
    out.local = true;
    return {};
  }
  return error::bad_proxy_header;  // UDP and unix sockets have no place here
}

}  // namespace

std::size_t bytes_needed(std::span<const std::uint8_t> bytes, std::error_code& ec) {
  ec.clear();
  if (bytes.empty()) {
    return 8;  // enough to tell v1 from v2
  }
  if (starts_like(bytes, v2_signature.data(), v2_signature.size())) {
    if (bytes.size() < 16) {
      return 16 - bytes.size();
    }
    const std::size_t total = 16 + load16(&bytes[14]);
    if (total > max_v2_size) {
      ec = error::bad_proxy_header;
      return 0;
    }
    return total - std::min(total, bytes.size());
  }
  if (starts_like(bytes, reinterpret_cast<const std::uint8_t*>(v1_prefix.data()),
                  v1_prefix.size())) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (text.size() >= 2 && text.ends_with("\r\n")) {
      return 0;
    }
    if (text.size() >= max_v1_size || text.find('\n') != std::string_view::npos) {
      ec = error::bad_proxy_header;
      return 0;
    }
    return 1;  // a line: one byte at a time, so nothing after it is taken
  }
  ec = error::bad_proxy_header;
  return 0;
}

std::error_code parse(std::span<const std::uint8_t> bytes, header& out) {
  out = header{};
  std::error_code ec;
  if (bytes_needed(bytes, ec) != 0 || ec) {
    return error::bad_proxy_header;
  }
  if (bytes.size() >= 16 && starts_like(bytes, v2_signature.data(), v2_signature.size())) {
    return parse_v2(bytes, out);
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size() - 2);
  return parse_v1(text, out);
}

bool network::contains(const asio::ip::address& candidate) const noexcept {
  if (unix_peers) {
    return false;
  }
  auto normalize = [](const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
      return asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()));
    }
    return a;
  };
  const auto ours = normalize(address);
  const auto theirs = normalize(candidate);
  if (ours.is_v4() != theirs.is_v4()) {
    return false;
  }
  auto bytes_of = [](const asio::ip::address& a) {
    std::vector<std::uint8_t> bytes;
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      bytes.assign(b.begin(), b.end());
    } else {
      const auto b = a.to_v6().to_bytes();
      bytes.assign(b.begin(), b.end());
    }
    return bytes;
  };
  const auto x = bytes_of(ours);
  const auto y = bytes_of(theirs);
  unsigned bits = prefix;
  for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((x[i] & mask) != (y[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

std::error_code parse_networks(const std::vector<std::string>& entries, std::vector<network>& out,
                               std::string& bad_entry) {
  out.clear();
  for (const auto& entry : entries) {
    if (entry == "unix") {
      network unix_peers;
      unix_peers.unix_peers = true;
      out.push_back(unix_peers);
      continue;
    }
    const auto slash = entry.find('/');
    std::error_code ec;
    network net;
    net.address = asio::ip::make_address(entry.substr(0, slash), ec);
    const unsigned full = net.address.is_v4() ? 32 : 128;
    net.prefix = full;
    if (!ec && slash != std::string::npos) {
      const std::string_view digits(entry.data() + slash + 1, entry.size() - slash - 1);
      unsigned prefix = 0;
      const auto [end, parse_ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (parse_ec != std::errc() || end != digits.data() + digits.size() || prefix > full ||
          digits.empty()) {
        ec = error::bad_address;
      }
      net.prefix = prefix;
    }
    if (!ec && net.address.is_v6() && net.address.to_v6().is_v4_mapped()) {
      // "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8.
      if (net.prefix < 96) {
        ec = error::bad_address;
      } else {
        net.address = asio::ip::make_address_v4(asio::ip::v4_mapped, net.address.to_v6());
        net.prefix -= 96;
      }
    }
    if (ec) {
      bad_entry = entry;
      return error::bad_address;
    }
    out.push_back(net);
  }
  return {};
}

}  // namespace wiregen::proxy_protocol
