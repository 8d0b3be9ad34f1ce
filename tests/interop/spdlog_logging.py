#!/usr/bin/env python3
"""Check the spdlog adapter example from outside.

usage: spdlog_logging.py --server PATH/TO/spdlog_echo_server

Starts the server with --log debug on a free loopback port, echoes one request, closes, then
stops it with SIGTERM. Its stderr must hold spdlog's lines ("[time] [wiregen] [level] ...")
for the listen, the connection's opening and close (with its frame counts) and the stop, in
that order. Exits 0 when it does, 1 otherwise.
"""

import argparse
import re
import signal
import socket
import subprocess
import sys

from bench_wire import frame

LINE = re.compile(r"^\[[0-9-]+ [0-9:.]+\] \[wiregen\] \[(\w+)\] (\w+)(.*)$")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    proc = subprocess.Popen([args.server, "--listen", "127.0.0.1:0", "--log", "debug"],
                            stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for raw in proc.stderr:  # bounded by the ctest timeout
            match = LINE.match(raw.rstrip("\n"))
            if not match:
                print(f"spdlog_logging: not an spdlog line: {raw!r}", file=sys.stderr)
                return 1
            seen.append(match.groups())
            if match.group(2) == "listening":
                break
        port = int(re.search(r"addr=127\.0\.0\.1:(\d+)", seen[-1][2]).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as peer:
            peer.sendall(frame(1, bytes([0x08, 0x05])))
            reply = b""
            while len(reply) < 8:
                reply += peer.recv(64)
        for raw in proc.stderr:
            seen.append(LINE.match(raw.rstrip("\n")).groups())
            if seen[-1][1] == "connection_closed":
                break
        proc.send_signal(signal.SIGTERM)
        for raw in proc.stderr:
            seen.append(LINE.match(raw.rstrip("\n")).groups())
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()

    for level, event, rest in seen:
        print(f"spdlog_logging: [{level}] {event}{rest}")
    wanted = [("info", "listening"), ("info", "server_state", "state=running"),
              ("debug", "connection_opened"), ("debug", "connection_closed", "frames_in=1"),
              ("info", "server_state", "state=draining"),
              ("info", "server_state", "state=stopped")]
    position = 0
    for level, event, rest in seen:
        if position < len(wanted):
            want = wanted[position]
            if (level, event) == want[:2] and (len(want) < 3 or want[2] in rest):
                position += 1
    if position < len(wanted) or proc.returncode != 0:
        print(f"spdlog_logging: missing {wanted[position:]}, exit {proc.returncode}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
