#pragma once

#include <cstddef>

#include "wiregen/options.hpp"

namespace wiregen::test {

/// Server options with `threads` I/O threads. (GCC 12 warns about the
/// designated initializer {.io_threads = n} under -Wextra.)
inline server_options with_threads(std::size_t threads) {
  server_options options;
  options.io_threads = threads;
  return options;
}

}  // namespace wiregen::test
