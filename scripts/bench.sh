#!/usr/bin/env bash
# The benchmark suite (docs/performance.md): builds the servers and the load
# generator, then runs bench/run.py, which rewrites the results in
# docs/performance.md. Arguments go to bench/run.py (--quick, --rounds N, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --bench
build=${WIREGEN_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" -j2 --target echo_server echo_load epoll_echo_server asio_echo_server \
  grpc_echo_server grpc_echo_load
/usr/bin/python3 "$root/bench/run.py" --build "$build" "$@"
