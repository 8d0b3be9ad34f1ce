#!/usr/bin/env python3
"""echo_server reached the ways other programs reach a server: from outside, by real tools.

usage: unix_and_activation.py --server ECHO_SERVER --mode {socat,systemd}

  socat    echo_server --listen unix:DIR/echo.sock --socket-mode 0660; checks the file's mode,
           sends three bench requests through `socat - UNIX-CONNECT:...` and decodes the three
           replies socat prints; after SIGTERM the socket file must be gone.
  systemd  `systemd-socket-activate -l 127.0.0.1:PORT echo_server --listen systemd`: the
           launcher holds the listening socket and starts the server on the first connection,
           passing the socket as descriptor 3 (LISTEN_FDS); that connection and two more echo.

Both tools are real (Debian socat and systemd); a missing one fails the test.
"""

import argparse
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

from bench_client import FrameBuffer, TYPE_REPLY, TYPE_REQUEST, decode_echo, encode_echo, frame
from bench_wire import free_port


def fail(message):
    print(f"unix_and_activation: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def need(tool):
    path = shutil.which(tool)
    if path is None:
        fail(f"{tool} not found: scripts/install-deps.sh --test installs it")
    return path


def requests(count):
    return [(seq, f"request {seq}".encode()) for seq in range(1, count + 1)]


def check_replies(data, sent):
    """The replies in `data` answer `sent`, in order, field for field."""
    replies = []
    for msg_type, body in FrameBuffer().frames(data):
        if msg_type != TYPE_REPLY:
            fail(f"frame of type {msg_type} instead of a reply")
        replies.append(decode_echo(body))
    if replies != [(seq, bytes(payload)) for seq, payload in sent]:
        fail(f"replies {replies} do not answer {sent}")


def wait_for_line(process, needle, timeout=10.0):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line.strip())
        if needle in line:
            return line.strip()
    fail(f"server never said {needle!r}; it said {lines}")
    return None


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        fail("server did not stop on SIGTERM")
    if process.returncode != 0:
        fail(f"server exited with {process.returncode}")


def run_socat(server):
    socat = need("socat")
    with tempfile.TemporaryDirectory(prefix="wiregen-socat-") as directory:
        path = os.path.join(directory, "echo.sock")
        process = subprocess.Popen(
            [server, "--listen", f"unix:{path}", "--socket-mode", "0660"],
            stderr=subprocess.PIPE, text=True)
        try:
            line = wait_for_line(process, "listening on")
            if f"unix:{path}" not in line:
                fail(f"server reports {line!r}, not the socket file")
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if not stat.S_ISSOCK(os.lstat(path).st_mode) or mode != 0o660:
                fail(f"socket file mode {oct(mode)}, expected a socket with 0o660")
            sent = requests(3)
            wire = b"".join(frame(TYPE_REQUEST, encode_echo(seq, body)) for seq, body in sent)
            # socat sends stdin, half-closes, and prints what comes back until the server
            # closes its side (it does once the replies are out).
            result = subprocess.run([socat, "-t", "5", "-", f"UNIX-CONNECT:{path}"], input=wire,
                                    capture_output=True, timeout=30, check=False)
            if result.returncode != 0:
                fail(f"socat exited {result.returncode}: {result.stderr.decode()}")
            check_replies(result.stdout, sent)
            print(f"socat: 3 requests through {path}, 3 replies, {len(result.stdout)} bytes")
        finally:
            stop(process)
        if os.path.exists(path):
            fail("the socket file outlived the server")
        print("socat: socket file removed on stop")


def echo_once(port, seq):
    sent = [(seq, f"activated {seq}".encode())]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(frame(TYPE_REQUEST, encode_echo(*sent[0])))
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    check_replies(data, sent)


def run_systemd(server):
    launcher = need("systemd-socket-activate")
    port = free_port()
    process = subprocess.Popen(
        [launcher, "-l", f"127.0.0.1:{port}", server, "--listen", "systemd"],
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for_line(process, f"Listening on 127.0.0.1:{port}")
        # The first connection makes the launcher start the server, which
        # accepts it from the socket it inherited.
        echo_once(port, 1)
        line = wait_for_line(process, "listening on")
        if f"127.0.0.1:{port}" not in line:
            fail(f"server reports {line!r}, not the inherited socket")
        echo_once(port, 2)
        echo_once(port, 3)
        print(f"systemd: server started by the first connection to 127.0.0.1:{port}, 3 echoes")
    finally:
        stop(process)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--mode", choices=["socat", "systemd"], required=True)
    args = parser.parse_args()
    if args.mode == "socat":
        run_socat(args.server)
    else:
        run_systemd(args.server)
    print("unix_and_activation: PASS")


if __name__ == "__main__":
    main()
