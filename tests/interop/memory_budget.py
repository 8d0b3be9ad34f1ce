#!/usr/bin/env python3
"""Hold a bench-protocol echo server to its memory budget from outside.

usage: memory_budget.py --connect HOST:PORT --pid PID --connections N --budget-mib B
                        [--slack-mib S]

Opens N connections that each announce a 4 MiB frame (the protocol's largest) and send all of
it but its last byte, as fast as the server takes it, while one more connection keeps echoing
small requests. Checks that every echo comes back within 5 s, and that the server's resident
memory (VmRSS of PID) never grows by more than the budget plus S MiB (default 24: a read buffer
per I/O thread and the one frame allowed to go on over the budget). Exits 0 when both hold.

Frame: u32 big-endian length of the rest, u16 big-endian type (1 EchoRequest, 2 EchoReply),
then the protobuf payload { uint64 seq = 1; bytes payload = 2; }.
"""

import argparse
import select
import socket
import struct
import sys
import time

from procfs import rss_kib

FRAME = 4 * 1024 * 1024  # echo.framing.textpb: max_frame_size


def echo(sock, seq):
    """One small request and its reply; False when none comes within 5 s."""
    body = struct.pack(">H", 1) + bytes([0x08, seq & 0x7F, 0x12, 0x04]) + b"ping"
    sock.sendall(struct.pack(">I", len(body)) + body)
    data = b""
    deadline = time.monotonic() + 5
    while True:
        if len(data) >= 4 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
            return struct.unpack(">H", data[4:6])[0] == 2
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
            return False
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--budget-mib", type=int, required=True)
    parser.add_argument("--slack-mib", type=int, default=24)
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)
    address = (host, int(port))

    echoer = socket.create_connection(address, timeout=10)
    for seq in range(20):
        assert echo(echoer, seq), "the echo client got no reply before the attack"
    baseline = rss_kib(args.pid)

    # Header: the length of what follows it (type and payload), the type.
    header = struct.pack(">IH", FRAME - 4, 1)
    left = {}
    for _ in range(args.connections):
        sock = socket.create_connection(address, timeout=10)
        sock.setblocking(False)
        left[sock] = FRAME - 1  # all but the last byte
        sock.send(header)
        left[sock] -= len(header)
    chunk = b"\0" * 65536
    peak, echoes, failed, closed, seq = baseline, 0, 0, 0, 100
    while True:
        writable = select.select([], list(s for s, n in left.items() if n > 0), [], 2)[1]
        if not writable:
            break  # two seconds without room anywhere: the server holds back
        for sock in writable:
            try:
                left[sock] -= sock.send(chunk[:min(len(chunk), left[sock])])
            except (BlockingIOError, InterruptedError):
                pass
            except ConnectionError:
                closed += 1  # the server closed it: over the second mark
                left[sock] = 0
        peak = max(peak, rss_kib(args.pid))
        seq += 1
        if seq % 16 == 0:
            echoer.settimeout(10)
            echoes += 1
            failed += 0 if echo(echoer, seq) else 1
    for _ in range(20):
        seq += 1
        echoes += 1
        failed += 0 if echo(echoer, seq) else 1
        peak = max(peak, rss_kib(args.pid))
    sent = sum(FRAME - 1 - n for n in left.values())
    growth_mib = (peak - baseline) / 1024
    print(f"memory_budget: {args.connections} connections sent {sent / 2**20:.0f} MiB of "
          f"{args.connections * (FRAME - 1) / 2**20:.0f} MiB; server RSS {baseline / 1024:.1f} "
          f"MiB before, peak {peak / 1024:.1f} MiB (+{growth_mib:.1f} MiB, budget "
          f"{args.budget_mib} MiB); echoes {echoes - failed}/{echoes}; {closed} closed by the "
          "server")
    ok = failed == 0 and closed == 0 and growth_mib <= args.budget_mib + args.slack_mib
    for sock in left:
        sock.close()
    echoer.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
