#!/usr/bin/env python3
"""Check a bench-protocol echo server's connection limit from outside.

usage: connection_limit.py --connect HOST:PORT --connections N --served M

Opens N connections and sends one EchoRequest on each. Exactly M must be served (their echo
comes back) and the other N - M closed by the server without a reply: run against an
echo_server started under `prlimit --nofile=...`, whose default max_connections derives from
that limit. Exits 0 when the counts match, 1 otherwise.

Frame: u32 big-endian length of the rest, u16 big-endian type (1 EchoRequest, 2 EchoReply),
then the protobuf payload { uint64 seq = 1; bytes payload = 2; }.
"""

import argparse
import socket
import struct
import sys


def request(seq):
    body = struct.pack(">H", 1) + bytes([0x08, seq & 0x7F])
    return struct.pack(">I", len(body)) + body


def outcome(sock):
    """'served' when a reply frame arrives, 'closed' on EOF or a reset."""
    data = b""
    try:
        while len(data) < 6:
            chunk = sock.recv(64)
            if not chunk:
                return "closed"
            data += chunk
    except ConnectionResetError:
        return "closed"
    (kind,) = struct.unpack(">H", data[4:6])
    return "served" if kind == 2 else f"unexpected type {kind}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--served", type=int, required=True)
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)
    sockets = []
    for i in range(args.connections):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sockets.append(sock)
    counts = {}
    for i, sock in enumerate(sockets):
        try:
            sock.sendall(request(i))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed already: outcome() says so
        result = outcome(sock)
        counts[result] = counts.get(result, 0) + 1
    for sock in sockets:
        sock.close()
    expected = {"served": args.served, "closed": args.connections - args.served}
    expected = {k: v for k, v in expected.items() if v}
    print(f"connection_limit: {counts}, expected {expected}")
    return 0 if counts == expected else 1


if __name__ == "__main__":
    sys.exit(main())
