#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace wiregen::test {

/// Throwaway certificates, made once per test process with the openssl
/// command (Debian package openssl): a CA, server certificates for
/// localhost/127.0.0.1 (a first and a "reloaded" one), one for the wrong
/// host, and a client certificate for mutual TLS.
struct test_certs {
  std::string dir;
  std::string ca;
  std::string server_chain, server_key;
  std::string reloaded_chain, reloaded_key;
  std::string wrong_host_chain, wrong_host_key;
  std::string client_chain, client_key;
  std::string untrusted_client_chain, untrusted_client_key;  // self-signed, no CA knows it
};

/// Removes the certificates' directory when the test process ends.
struct owned_certs : test_certs {
  owned_certs(test_certs made) : test_certs(std::move(made)) {}
  ~owned_certs() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

inline const test_certs& certs() {
  static const owned_certs made = [] {
    test_certs c;
    c.dir =
        (std::filesystem::temp_directory_path() / ("wiregen-certs-" + std::to_string(::getpid())))
            .string();
    std::filesystem::create_directories(c.dir);
    const std::string d = c.dir + "/";
    auto run = [](const std::string& command) {
      if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        throw std::runtime_error("test certificates: failed: " + command);
      }
    };
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    run("openssl req -x509 " + key + " -keyout " + d + "ca.key -out " + d +
        "ca.pem -days 2 -subj '/CN=wiregen test CA'"
        " -addext basicConstraints=critical,CA:TRUE"
        " -addext keyUsage=critical,keyCertSign,cRLSign");
    auto issue = [&](const std::string& name, const std::string& subject,
                     const std::string& extensions) {
      run("openssl req " + key + " -keyout " + d + name + ".key -out " + d + name + ".csr -subj '" +
          subject + "'");
      std::ofstream(d + name + ".ext") << extensions;
      run("openssl x509 -req -in " + d + name + ".csr -CA " + d + "ca.pem -CAkey " + d +
          "ca.key -CAcreateserial -days 2 -out " + d + name + ".pem -extfile " + d + name + ".ext");
    };
    issue("server", "/CN=localhost",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    issue("reloaded", "/CN=reloaded.localhost",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    issue("wrong", "/CN=elsewhere.example",
          "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n");
    issue("client", "/CN=alice/O=wiregen tests",
          "subjectAltName=URI:spiffe://wiregen/alice,DNS:alice.clients\n"
          "extendedKeyUsage=clientAuth\n");
    run("openssl req -x509 " + key + " -keyout " + d + "mallory.key -out " + d +
        "mallory.pem -days 2 -subj '/CN=mallory' -addext extendedKeyUsage=clientAuth");
    c.ca = d + "ca.pem";
    c.server_chain = d + "server.pem";
    c.server_key = d + "server.key";
    c.reloaded_chain = d + "reloaded.pem";
    c.reloaded_key = d + "reloaded.key";
    c.wrong_host_chain = d + "wrong.pem";
    c.wrong_host_key = d + "wrong.key";
    c.client_chain = d + "client.pem";
    c.client_key = d + "client.key";
    c.untrusted_client_chain = d + "mallory.pem";
    c.untrusted_client_key = d + "mallory.key";
    return c;
  }();
  return made;
}

}  // namespace wiregen::test
