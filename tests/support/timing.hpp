#pragma once

#include <chrono>

namespace wiregen::test {

/// How soon a wake-up the seeds time must come (a blocked sender or reader
/// woken by a close, a stop that only posts): their 100 ms. Measured, these
/// take well under a millisecond; the bound leaves room for a loaded
/// two-core CI machine, and the sanitizers slow every step some tenfold.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr std::chrono::milliseconds prompt_wake{500};
#else
inline constexpr std::chrono::milliseconds prompt_wake{100};
#endif

}  // namespace wiregen::test
