#!/usr/bin/env bash
# Installs the Debian 12 packages wiregen builds with. Idempotent: when every
# package is already present it prints nothing and touches nothing.
set -euo pipefail

packages=(
  cmake g++ make
  protobuf-compiler libprotobuf-dev
  libasio-dev libssl-dev openssl haproxy
  catch2
  python3 python3-jinja2 python3-protobuf python3-pytest
)

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
