#!/usr/bin/env bash
# Installs the Debian 12 packages wiregen builds with. Idempotent: when every
# package is already present it prints nothing and touches nothing.
#
#   scripts/install-deps.sh          what the build, the demo and most tests need
#   scripts/install-deps.sh --test   also the JDK and jars of the Java/Netty
#                                    interop tests (docs/interop.md) and Clang
#                                    with libFuzzer (docs/reliability.md), socat,
#                                    systemd-socket-activate and nc (Unix socket,
#                                    socket activation and raw stream tests),
#                                    spdlog (the logging adapter example),
#                                    Prometheus and promtool (metrics tests);
#                                    scripts/test.sh, scripts/fuzz.sh
#   scripts/install-deps.sh --bench  also gRPC, for the benchmark's gRPC
#                                    baselines (docs/performance.md); scripts/bench.sh
set -euo pipefail

packages=(
  cmake g++ make
  protobuf-compiler libprotobuf-dev
  libasio-dev libssl-dev openssl haproxy
  catch2
  python3 python3-jinja2 python3-protobuf python3-pytest
)
case "${1:-}" in
  "") ;;
  --test) packages+=(openjdk-17-jdk-headless libnetty-java libprotobuf-java
                     clang-14 libfuzzer-14-dev libclang-rt-14-dev socat systemd netcat-openbsd
                     libspdlog-dev prometheus) ;;
  --bench) packages+=(libgrpc++-dev protobuf-compiler-grpc pkg-config) ;;
  *) echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
