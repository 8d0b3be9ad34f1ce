#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace wiregen {

/// The oldest TLS version a side accepts; nothing older than 1.2 exists here.
enum class tls_version { tls1_2, tls1_3 };

/// Whether a TLS server asks its clients for a certificate.
enum class client_certificates {
  /// Not asked for.
  none,
  /// Asked for, and verified against client_ca_file if sent; a client
  /// without one is still accepted.
  optional,
  /// A client without a certificate that verifies is refused (mutual TLS).
  required,
};

/// The settings both sides share.
struct tls_common_options {
  tls_version min_version = tls_version::tls1_2;
  tls_version max_version = tls_version::tls1_3;
  /// OpenSSL cipher list for TLS 1.2 (e.g. "ECDHE+AESGCM:ECDHE+CHACHA20");
  /// empty keeps OpenSSL's default.
  std::string ciphers;
  /// TLS 1.3 cipher suites (e.g. "TLS_AES_128_GCM_SHA256"); empty: default.
  std::string ciphersuites;
  /// Key exchange groups (e.g. "X25519:P-256"); empty: default.
  std::string curves;
  /// ALPN protocol names, most preferred first. A server picks the first of
  /// its list the client offers and refuses a client offering none of them;
  /// empty turns ALPN off.
  std::vector<std::string> alpn;
};

/// TLS for a server: set server_options::tls.
struct tls_server_options : tls_common_options {
  /// PEM files: the server's certificate (then its intermediates) and key.
  /// Read again by server::reload_tls().
  std::string certificate_chain_file;
  std::string private_key_file;
  /// PEM bundle of the CAs that sign client certificates.
  std::string client_ca_file;
  client_certificates client_certificates_mode = client_certificates::none;
};

/// TLS for a client: set client_options::tls.
struct tls_client_options : tls_common_options {
  /// PEM bundle of the CAs to trust; empty uses the system's.
  std::string ca_file;
  /// The name sent as SNI and checked against the server's certificate;
  /// empty uses the host given to connect(). A Unix-domain socket has no
  /// host: connecting to one without a name is error::missing_server_name.
  std::string server_name;
  /// For mutual TLS: the client's certificate chain and key (PEM).
  std::string certificate_chain_file;
  std::string private_key_file;
  /// Skips the server certificate's chain and name checks: anyone can then
  /// impersonate the server. For tests against throwaway certificates only.
  bool insecure_skip_verify = false;
};

/// What a TLS connection learned in its handshake; see session::tls().
struct tls_info {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string alpn;  // the protocol agreed on, if any
  /// The peer's certificate, if it sent one: whether it verified, its
  /// subject (RFC 2253) and its subject alternative names.
  bool peer_certificate = false;
  bool peer_verified = false;
  std::string peer_subject;
  std::vector<std::string> peer_dns_names;
  std::vector<std::string> peer_ip_addresses;
  std::vector<std::string> peer_uris;
};

/// Builds an SSL context from the options, or reports what is wrong (a
/// missing or unreadable file, a bad cipher list...).
std::error_code make_tls_context(const tls_server_options& options,
                                 std::shared_ptr<asio::ssl::context>& out);
std::error_code make_tls_context(const tls_client_options& options,
                                 std::shared_ptr<asio::ssl::context>& out);

}  // namespace wiregen
