#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds everything with
# warnings as errors, and runs every test through ctest (C++ unit and loopback
# integration tests, the generator's pytest suite, the generated/ golden check,
# the independent bench-protocol client, the Java/Netty interop peers, the chat
# demo, the CMake consumer). The plain run also builds the libFuzzer targets
# with Clang (ASan + UBSan) in build-fuzz/ and runs each for a bounded number
# of inputs (docs/reliability.md).
#
#   scripts/test.sh            plain RelWithDebInfo build in build/
#   scripts/test.sh --sanitize the same under AddressSanitizer + UBSan in build-asan/
#   scripts/test.sh --tsan     the same under ThreadSanitizer in build-tsan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test

build=${WIREGEN_BUILD_DIR:-$root/build}
flags=()
if [ "${1:-}" = "--sanitize" ]; then
  build=${WIREGEN_BUILD_DIR:-$root/build-asan}
  sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=$sanitize"
         "-DCMAKE_EXE_LINKER_FLAGS=$sanitize")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
elif [ "${1:-}" = "--tsan" ]; then
  build=${WIREGEN_BUILD_DIR:-$root/build-tsan}
  # Asio's fenced blocks use atomic_thread_fence, which ThreadSanitizer does
  # not model; its scheduler's mutexes order handlers without them.
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
         "-DCMAKE_CXX_FLAGS=-fsanitize=thread -DASIO_DISABLE_FENCED_BLOCK"
         "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread")
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
fi

cmake -S "$root" -B "$build" -DWIREGEN_WERROR=ON "${flags[@]}" >/dev/null
cmake --build "$build" -j2
(cd "$build" && ctest -j2 --output-on-failure --timeout 600)

if [ ${#flags[@]} -eq 0 ]; then
  # The fuzz targets: already under ASan + UBSan, so only in the plain run.
  fuzz=${WIREGEN_FUZZ_BUILD_DIR:-$root/build-fuzz}
  cmake -S "$root" -B "$fuzz" -DWIREGEN_FUZZ=ON -DWIREGEN_WERROR=ON \
        -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$fuzz" -j2
  (cd "$fuzz" && ctest -j2 --output-on-failure --timeout 600)
fi
