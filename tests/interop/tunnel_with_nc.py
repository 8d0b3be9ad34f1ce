#!/usr/bin/env python3
"""The RAW examples reached from outside: tunnel_echo by nc, tunnel_forward by sockets.

usage: tunnel_with_nc.py --echo TUNNEL_ECHO --forward TUNNEL_FORWARD

  1. `nc -N 127.0.0.1 PORT` sends text to tunnel_echo, half-closes, and prints exactly what it
     sent: the echo server flushes the echo before it closes.
  2. tunnel_forward in front of tunnel_echo: 4 MiB of varied bytes, written by one thread as
     fast as the sockets take them while another reads, come back intact and in order (the
     send queues fill; backpressure must hold reading back, not drop bytes).
  3. Two clients through the forwarder at once each get their own bytes back.
nc is Debian's netcat-openbsd; a missing one fails the test.
"""

import argparse
import hashlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time


def fail(message):
    print(f"tunnel_with_nc: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start(command, needle):
    """Starts `command`; returns it and the port it reports in the line holding `needle`."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if needle in line:
            # "... listening on 127.0.0.1:PORT" / "forwarding 127.0.0.1:PORT to ..."
            address = line.split(needle, 1)[1].split()[0]
            threading.Thread(target=drain, args=(process,), daemon=True).start()
            return process, int(address.rsplit(":", 1)[1])
    fail(f"{command[0]} never said {needle!r}")
    return None, 0


def drain(process):
    for _ in process.stderr:
        pass


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        fail(f"{process.args[0]} did not stop on SIGTERM")
    if process.returncode != 0:
        fail(f"{process.args[0]} exited with {process.returncode}")


def echo_with_nc(port):
    nc = shutil.which("nc")
    if nc is None:
        fail("nc not found: scripts/install-deps.sh --test installs netcat-openbsd")
    text = b"hello through nc\nsecond line, no framing at all\n\x00\x01\xff"
    result = subprocess.run([nc, "-N", "127.0.0.1", str(port)], input=text,
                            stdout=subprocess.PIPE, timeout=20)
    if result.returncode != 0 or result.stdout != text:
        fail(f"nc got {result.stdout!r} (exit {result.returncode}), expected {text!r}")


def pattern(size, seed):
    block = hashlib.sha256(seed.encode()).digest()
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(block + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def round_trip(port, size, seed, results, index):
    """Writes `size` bytes from a thread of its own while reading them back."""
    data = pattern(size, seed)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        writer = threading.Thread(target=sock.sendall, args=(data,))
        writer.start()
        received = bytearray()
        while len(received) < size:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            received += chunk
        writer.join()
    results[index] = bytes(received) == data, len(received)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--echo", required=True)
    parser.add_argument("--forward", required=True)
    args = parser.parse_args()

    echo, echo_port = start([args.echo, "--listen", "127.0.0.1:0"], "listening on ")
    forward = None
    try:
        echo_with_nc(echo_port)
        forward, forward_port = start(
            [args.forward, "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{echo_port}"],
            "forwarding ")
        results = [None]
        # A client that writes 4 MiB before reading: nothing may be lost on the way.
        round_trip(forward_port, 4 << 20, "big", results, 0)
        if not results[0][0]:
            fail(f"4 MiB through the forwarder came back wrong ({results[0][1]} bytes)")
        results = [None, None]
        clients = [threading.Thread(target=round_trip,
                                    args=(forward_port, 1 << 20, f"client {i}", results, i))
                   for i in range(2)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=60)
        if not all(result and result[0] for result in results):
            fail(f"two clients through the forwarder: {results}")
    finally:
        if forward is not None:
            stop(forward)
        stop(echo)
    print("tunnel_with_nc: nc echo, 4 MiB and two clients through the forwarder: ok")


if __name__ == "__main__":
    main()
