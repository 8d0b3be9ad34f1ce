#!/usr/bin/env python3
"""A failed allocation closes one connection, not the server.

usage: allocation_failure.py --connect HOST:PORT --pid PID

Echoes a few small requests, then caps the server's address space (prlimit --as) a few MiB
above what it uses, and sends most of a 4 MiB frame on a second connection: the buffer for it
cannot grow, so that connection must be closed while the first keeps getting its echoes and
the server keeps running. Exits 0 when that holds.
"""

import argparse
import select
import socket
import struct
import subprocess
import sys
import time

from procfs import vm_size_kib

FRAME = 4 * 1024 * 1024


def echo(sock, seq):
    body = struct.pack(">H", 1) + bytes([0x08, seq & 0x7F])
    sock.sendall(struct.pack(">I", len(body)) + body)
    data = b""
    deadline = time.monotonic() + 5
    while len(data) < 6:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
            return False
        chunk = sock.recv(64)
        if not chunk:
            return False
        data += chunk
    return struct.unpack(">H", data[4:6])[0] == 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--pid", type=int, required=True)
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)
    address = (host, int(port))

    echoer = socket.create_connection(address, timeout=10)
    for seq in range(20):
        assert echo(echoer, seq), "no echo before the limit"
    limit = (vm_size_kib(args.pid) + 3 * 1024) * 1024
    subprocess.run(["prlimit", f"--pid={args.pid}", f"--as={limit}"], check=True)

    big = socket.create_connection(address, timeout=10)
    big.sendall(struct.pack(">IH", FRAME - 4, 1))
    closed = False
    sent = 6
    chunk = b"\0" * 65536
    try:
        while sent < FRAME - 1:
            sent += big.send(chunk[:min(len(chunk), FRAME - 1 - sent)])
        # All sent but the last byte: the server still reading would hold it all.
        closed = select.select([big], [], [], 5)[0] != [] and big.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    echoes = sum(1 for seq in range(20) if echo(echoer, 100 + seq))
    print(f"allocation_failure: address space capped at {limit >> 20} MiB; the large frame's "
          f"connection {'was closed' if closed else 'stayed open'} after {sent >> 10} KiB; "
          f"echoes after it {echoes}/20")
    return 0 if closed and echoes == 20 else 1


if __name__ == "__main__":
    sys.exit(main())
