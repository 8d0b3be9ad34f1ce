#pragma once

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <string>

namespace wiregen::test {

/// Whether Prometheus's own linter (`promtool check metrics`, Debian package
/// prometheus) accepts `text` as the exposition format. A missing promtool
/// fails the check.
inline bool promtool_accepts(const std::string& text) {
  // Without promtool the shell exits at once: writing to it must fail the
  // check, not kill the test process with SIGPIPE.
  const auto previous = std::signal(SIGPIPE, SIG_IGN);
  FILE* check = ::popen("promtool check metrics >/dev/null 2>&1", "w");
  if (check == nullptr) {
    std::signal(SIGPIPE, previous);
    return false;
  }
  std::fwrite(text.data(), 1, text.size(), check);
  const int status = ::pclose(check);
  std::signal(SIGPIPE, previous);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace wiregen::test
