#include "wiregen/tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/ip/address.hpp>

#include "tls_layer.hpp"
#include "wiregen/error.hpp"

namespace wiregen {

namespace {

// An SSL context and what it points at: the ALPN list its callback reads
// lives exactly as long as the context does.
struct context_holder {
  explicit context_holder(asio::ssl::context::method method) : context(method) {}
  asio::ssl::context context;
  std::vector<unsigned char> alpn_wire;  // length-prefixed names
};

std::error_code openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  return {static_cast<int>(code), asio::error::get_ssl_category()};
}

std::error_code apply_common(context_holder& holder, const tls_common_options& options) {
  SSL_CTX* ctx = holder.context.native_handle();
  holder.context.set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                             asio::ssl::context::single_dh_use);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // OpenSSL's record buffers (about 33 KiB) go back while a connection has
  // nothing to read or write, as ours do: idle TLS connections stay smaller.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  const int min = options.min_version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  const int max = options.max_version == tls_version::tls1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;
  if (min > max) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max) != 1) {
    return openssl_error();
  }
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
    return openssl_error();
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
    return openssl_error();
  }
  if (!options.curves.empty() && SSL_CTX_set1_groups_list(ctx, options.curves.c_str()) != 1) {
    return openssl_error();
  }
  for (const auto& name : options.alpn) {
    if (name.empty() || name.size() > 255) {
      return std::make_error_code(std::errc::invalid_argument);
    }
    holder.alpn_wire.push_back(static_cast<unsigned char>(name.size()));
    holder.alpn_wire.insert(holder.alpn_wire.end(), name.begin(), name.end());
  }
  return {};
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void* arg) {
  const auto& ours = static_cast<context_holder*>(arg)->alpn_wire;
  unsigned char* chosen = nullptr;
  // The server's preference order wins.
  if (SSL_select_next_proto(&chosen, out_size, ours.data(), static_cast<unsigned>(ours.size()), in,
                            in_size) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::error_code use_certificate(asio::ssl::context& context, const std::string& chain,
                                const std::string& key) {
  std::error_code ec;
  context.use_certificate_chain_file(chain, ec);
  if (!ec) {
    context.use_private_key_file(key, asio::ssl::context::pem, ec);
  }
  if (!ec && SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ec = openssl_error();
  }
  return ec;
}

std::shared_ptr<asio::ssl::context> share(std::shared_ptr<context_holder> holder) {
  // Aliasing: the caller sees the context, and keeps the whole holder alive.
  return {holder, &holder->context};
}

}  // namespace

std::error_code make_tls_context(const tls_server_options& options,
                                 std::shared_ptr<asio::ssl::context>& out) {
  if (options.certificate_chain_file.empty() || options.private_key_file.empty()) {
    return error::tls_not_configured;
  }
  auto holder = std::make_shared<context_holder>(asio::ssl::context::tls_server);
  if (auto ec = apply_common(*holder, options)) {
    return ec;
  }
  if (auto ec = use_certificate(holder->context, options.certificate_chain_file,
                                options.private_key_file)) {
    return ec;
  }
  // Without a session id context, OpenSSL fails the handshake of a client
  // that resumes a session while client certificates are verified.
  static constexpr unsigned char session_context[] = "wiregen";
  SSL_CTX_set_session_id_context(holder->context.native_handle(), session_context,
                                 sizeof session_context - 1);
  if (options.client_certificates_mode != client_certificates::none) {
    if (options.client_ca_file.empty()) {
      return error::tls_not_configured;
    }
    std::error_code ec;
    holder->context.load_verify_file(options.client_ca_file, ec);
    if (ec) {
      return ec;
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(holder->context.native_handle(), names);
    }
    const auto mode = options.client_certificates_mode == client_certificates::required
                          ? asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert
                          : asio::ssl::verify_peer;
    holder->context.set_verify_mode(mode);
  }
  if (!holder->alpn_wire.empty()) {
    SSL_CTX_set_alpn_select_cb(holder->context.native_handle(), select_alpn, holder.get());
  }
  out = share(std::move(holder));
  return {};
}

std::error_code make_tls_context(const tls_client_options& options,
                                 std::shared_ptr<asio::ssl::context>& out) {
  auto holder = std::make_shared<context_holder>(asio::ssl::context::tls_client);
  if (auto ec = apply_common(*holder, options)) {
    return ec;
  }
  std::error_code ec;
  if (options.insecure_skip_verify) {
    holder->context.set_verify_mode(asio::ssl::verify_none);
  } else {
    holder->context.set_verify_mode(asio::ssl::verify_peer);
    if (options.ca_file.empty()) {
      holder->context.set_default_verify_paths(ec);
    } else {
      holder->context.load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return ec;
    }
  }
  if (options.certificate_chain_file.empty() != options.private_key_file.empty()) {
    return error::tls_not_configured;  // half a client identity
  }
  if (!options.certificate_chain_file.empty()) {
    if ((ec = use_certificate(holder->context, options.certificate_chain_file,
                              options.private_key_file))) {
      return ec;
    }
  }
  if (!holder->alpn_wire.empty() &&
      SSL_CTX_set_alpn_protos(holder->context.native_handle(), holder->alpn_wire.data(),
                              static_cast<unsigned>(holder->alpn_wire.size())) != 0) {
    return openssl_error();
  }
  out = share(std::move(holder));
  return {};
}

namespace detail {

void describe_session(SSL* ssl, tls_info& info) {
  info.version = SSL_get_version(ssl);
  info.cipher = SSL_get_cipher_name(ssl);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_size = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_size);
  info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_size);
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) {
    return;
  }
  info.peer_certificate = true;
  info.peer_verified = SSL_get_verify_result(ssl) == X509_V_OK;
  if (BIO* out = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(out, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
    char* text = nullptr;
    const long size = BIO_get_mem_data(out, &text);
    info.peer_subject.assign(text, static_cast<std::size_t>(size));
    BIO_free(out);
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(peer, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_URI) {
      const auto* text = name->d.ia5;
      std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                        static_cast<std::size_t>(ASN1_STRING_length(text)));
      (name->type == GEN_DNS ? info.peer_dns_names : info.peer_uris).push_back(std::move(value));
    } else if (name->type == GEN_IPADD) {
      const auto* raw = name->d.ip;
      const auto* bytes = ASN1_STRING_get0_data(raw);
      if (ASN1_STRING_length(raw) == 4) {
        asio::ip::address_v4::bytes_type v4;
        std::copy(bytes, bytes + 4, v4.begin());
        info.peer_ip_addresses.push_back(asio::ip::address_v4(v4).to_string());
      } else if (ASN1_STRING_length(raw) == 16) {
        asio::ip::address_v6::bytes_type v6;
        std::copy(bytes, bytes + 16, v6.begin());
        info.peer_ip_addresses.push_back(asio::ip::address_v6(v6).to_string());
      }
    }
  }
  GENERAL_NAMES_free(names);
  X509_free(peer);
}

}  // namespace detail

}  // namespace wiregen
