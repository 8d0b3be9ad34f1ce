#!/usr/bin/env bash
# The main job: build wiregen's chat example and run it on localhost. One
# server, three scripted clients (scripts/demo/*.chat) that log in, join a
# room and talk; every line below is printed by one of those processes.
#
#   scripts/demo.sh         plain TCP
#   scripts/demo.sh --tls   the same over TLS, with a throwaway CA and a
#                           certificate reload (SIGHUP) in the middle
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WIREGEN_BUILD_DIR:-$root/build}

# The test suite runs this script on binaries it has built already.
if [ -z "${WIREGEN_DEMO_SKIP_BUILD:-}" ]; then
  "$root/scripts/install-deps.sh"
  echo "== building the chat example (cmake, protoc, protoc-gen-wiregen, g++) =="
  cmake -S "$root" -B "$build" >/dev/null
  cmake --build "$build" -j2 --target chat_server chat_client >/dev/null
fi

tls=""
[ "${1:-}" = "--tls" ] && tls=1

work=$(mktemp -d)
server_pid=""
echo_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits until `file` has a line matching `pattern`: the scripts run in
# parallel, and each step below depends on the previous one having happened.
wait_for() {
  local file=$1 pattern=$2
  for _ in $(seq 200); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "demo: timed out waiting for '$pattern' in $(basename "$file")" >&2
  return 1
}

server_flags=()
client_flags=()
if [ -n "$tls" ]; then
  echo "== making a throwaway CA and a certificate for 127.0.0.1 (openssl) =="
  key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${key[@]}" -keyout "$work/ca.key" -out "$work/ca.pem" -days 1 \
    -subj "/CN=wiregen demo CA" >/dev/null 2>&1
  openssl req "${key[@]}" -keyout "$work/server.key" -out "$work/server.csr" \
    -subj "/CN=chat.demo" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1\n' >"$work/server.ext"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -out "$work/server.pem" -extfile "$work/server.ext" >/dev/null 2>&1
  server_flags=(--tls-cert "$work/server.pem" --tls-key "$work/server.key")
  client_flags=(--tls-ca "$work/ca.pem")
fi

run_client() {
  local name=$1
  "$build/examples/chat_client" --connect "127.0.0.1:$port" --name "$name" "${client_flags[@]}" \
    <"$root/scripts/demo/$name.chat" | tee "$work/$name.log" &
}

echo "== chat_server on 127.0.0.1 (port picked by the OS) =="
# The server's own pid (not a pipeline's) is what the signals below go to:
# several demos may run at once.
"$build/examples/chat_server" --listen 127.0.0.1:0 "${server_flags[@]}" >"$work/server.log" &
server_pid=$!
tail -n +1 -f "$work/server.log" &
echo_pid=$!
wait_for "$work/server.log" "listening on"
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")

run_client alice
alice=$!
wait_for "$work/alice.log" "joined lobby"
if [ -n "$tls" ]; then
  # New connections get the reloaded certificate; alice keeps hers.
  kill -HUP "$server_pid"
  wait_for "$work/server.log" "certificate reloaded"
fi
run_client bob
bob=$!
wait_for "$work/alice.log" "carol is coming too"
run_client carol
carol=$!

status=0
for pid in $alice $bob $carol; do
  wait "$pid" || status=1
done
kill -INT "$server_pid" 2>/dev/null || true
wait "$server_pid" || status=1
server_pid=""
wait_for "$work/server.log" "stopped" || status=1
if [ $status -eq 0 ]; then
  echo "== demo finished: three clients talked through the server${tls:+ over TLS}, which stopped gracefully =="
else
  echo "== demo FAILED ==" >&2
fi
exit $status
