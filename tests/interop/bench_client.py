#!/usr/bin/env python3
"""Independent client for the bench echo protocol, used for interop tests.

This file deliberately shares no code with wiregen: the framing and the
protobuf wire format (varints, wire types 0 and 2, skipping of unknown
fields) are hand-written here from the spec, using only the standard
library, so that it can check a wiregen-generated server independently.

Frame: u32 big-endian length L, then L bytes = u16 big-endian message type
followed by the protobuf payload.  Type 1 = bench.EchoRequest, type 2 =
bench.EchoReply; both are { uint64 seq = 1; bytes payload = 2; }.
Run with --self-test to check this client against an in-process server.
"""

import argparse
import random
import select
import socket
import struct
import sys
import threading
from collections import deque

TYPE_REQUEST, TYPE_REPLY = 1, 2
BIG_PAYLOAD = 70000
MAX_FRAME = 64 * 1024 * 1024


class BenchError(Exception):
    """A protocol, verification or transport failure."""


def encode_varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data, pos):
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise BenchError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> 64:
                raise BenchError("varint overflows 64 bits")
            return result, pos
    raise BenchError("varint longer than 10 bytes")


def encode_echo(seq, payload):
    """Encode EchoRequest/EchoReply canonically (proto3 omits defaults)."""
    out = bytearray()
    if seq:
        out += b"\x08" + encode_varint(seq)
    if payload:
        out += b"\x12" + encode_varint(len(payload)) + payload
    return bytes(out)


def decode_echo(data):
    """Decode EchoRequest/EchoReply; returns (seq, payload)."""
    seq, payload, pos = 0, b"", 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise BenchError("field number 0 in message")
        if wire == 0:
            value, pos = decode_varint(data, pos)
        elif wire in (1, 2, 5):
            size = {1: 8, 5: 4}.get(wire)
            if wire == 2:
                size, pos = decode_varint(data, pos)
            if pos + size > len(data):
                raise BenchError("truncated field %d" % field)
            value, pos = bytes(data[pos:pos + size]), pos + size
        else:
            raise BenchError("unsupported wire type %d (field %d)"
                             % (wire, field))
        if wire != {1: 0, 2: 2}.get(field, wire):
            raise BenchError("field %d has wrong wire type %d" % (field, wire))
        if field == 1:
            seq = value
        elif field == 2:
            payload = value
    return seq, payload


def frame(msg_type, body):
    return struct.pack(">IH", 2 + len(body), msg_type) + body


class FrameBuffer:
    """Reassembles frames from arbitrary recv() chunks."""

    def __init__(self):
        self.buf = bytearray()

    def frames(self, data):
        """Add received bytes; return the list of complete (type, body)."""
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (length,) = struct.unpack_from(">I", self.buf)
            if not 2 <= length <= MAX_FRAME:
                raise BenchError("invalid frame length %d" % length)
            if len(self.buf) < 4 + length:
                break
            (msg_type,) = struct.unpack_from(">H", self.buf, 4)
            out.append((msg_type, bytes(self.buf[6:4 + length])))
            del self.buf[:4 + length]
        return out


def build_requests(count, size, rng):
    """seq 0..count-1; sizes 0, 1, S, 70000, then random sizes up to S."""
    special, requests = [0, 1, size, BIG_PAYLOAD], []
    for seq in range(count):
        n = special[seq] if seq < len(special) else rng.randint(0, size)
        requests.append((seq, rng.getrandbits(8 * n).to_bytes(n, "little")))
    return requests


def check_reply(pending, msg_type, body):
    if not pending:
        raise BenchError("reply received with no request outstanding")
    want_seq, want_payload = pending.popleft()
    if msg_type != TYPE_REPLY:
        raise BenchError("expected message type %d for seq %d, got %d"
                         % (TYPE_REPLY, want_seq, msg_type))
    try:
        seq, payload = decode_echo(body)
    except BenchError as exc:
        raise BenchError("bad EchoReply for seq %d: %s" % (want_seq, exc))
    if seq != want_seq:
        raise BenchError("reply out of order: expected seq %d, got seq %d"
                         % (want_seq, seq))
    if payload != want_payload:
        raise BenchError("seq %d payload mismatch: expected %d bytes, got %d"
                         " different bytes"
                         % (seq, len(want_payload), len(payload)))


def run_connection(host, port, requests, pipeline, timeout):
    """Pipelined send/verify over one connection, never blocking > timeout."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise BenchError("connect to %s:%d failed: %s" % (host, port, exc))
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        pending, outbuf, frames = deque(), bytearray(), FrameBuffer()
        next_req = verified = 0
        while verified < len(requests):
            while next_req < len(requests) and len(pending) < pipeline:
                seq, payload = requests[next_req]
                outbuf += frame(TYPE_REQUEST, encode_echo(seq, payload))
                pending.append(requests[next_req])
                next_req += 1
            readable, writable, _ = select.select(
                [sock], [sock] if outbuf else [], [], timeout)
            if not readable and not writable:
                raise BenchError("timed out after %gs with %d replies "
                                 "outstanding" % (timeout, len(pending)))
            try:
                if writable:
                    del outbuf[:sock.send(outbuf)]
                data = sock.recv(262144) if readable else None
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                raise BenchError("socket error with %d replies outstanding: "
                                 "%s" % (len(pending), exc))
            if data is None:
                continue
            if not data:
                raise BenchError("unexpected EOF (short read) with %d replies"
                                 " outstanding, %d bytes of partial frame"
                                 % (len(pending), len(frames.buf)))
            for msg_type, body in frames.frames(data):
                check_reply(pending, msg_type, body)
                verified += 1
        if frames.buf:
            raise BenchError("%d unexpected extra bytes after the last reply"
                             % len(frames.buf))


def run_all(host, port, args):
    for conn in range(args.connections):
        rng = random.Random(args.seed * 1000 + conn)
        requests = build_requests(args.requests, args.payload_size, rng)
        try:
            run_connection(host, port, requests, args.pipeline, args.timeout)
        except BenchError as exc:
            raise BenchError("connection %d: %s" % (conn, exc))


# ---- self-test: an in-process echo server with its own decoding path ----

def echo_connection(conn, mode):
    """Echo server side: replies use shuffled fields plus unknown fields
    of wire types 0, 1, 2 and 5, written in odd-sized pieces."""
    rng, frames = random.Random(7), FrameBuffer()
    try:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                out = bytearray()
                for msg_type, body in frames.frames(data):
                    if msg_type != TYPE_REQUEST:
                        return
                    seq, payload = decode_echo(body)
                    if seq == 5 and mode == "eof":
                        return
                    if seq == 5 and mode == "corrupt":
                        payload += b"!"
                    if seq == 5 and mode == "reorder":
                        seq = 6
                    parts = [encode_echo(seq, b""), encode_echo(0, payload),
                             b"\x18" + encode_varint(rng.getrandbits(64)),
                             b"\x21" + bytes(8), b"\x2a\x03abc",
                             b"\x35" + bytes(4)]
                    rng.shuffle(parts)
                    out += frame(TYPE_REPLY, b"".join(parts))
                pos = 0
                while pos < len(out):
                    step = rng.randint(1, 9000)
                    conn.sendall(out[pos:pos + step])
                    pos += step
    except (OSError, BenchError):
        return


def serve(listener, mode):
    try:
        while True:
            threading.Thread(target=echo_connection, daemon=True,
                             args=(listener.accept()[0], mode)).start()
    except OSError:
        return


def self_test(args):
    vectors = [((0, b""), b""), ((0, b"x"), b"\x12\x01x"),
               ((150, b"hi"), bytes.fromhex("089601120268 69")),
               ((2 ** 64 - 1, b""), b"\x08" + b"\xff" * 9 + b"\x01")]
    for (seq, payload), wire in vectors:
        if encode_echo(seq, payload) != wire or decode_echo(wire) != (
                seq, payload):
            raise BenchError("self-test: codec vector %r failed" % (wire,))
    for bad in (b"\x08", b"\x12\x05ab", b"\x0b", b"\x08" + b"\xff" * 10):
        try:
            decode_echo(bad)
        except BenchError:
            continue
        raise BenchError("self-test: decoder accepted invalid %r" % (bad,))
    bad = {"requests": max(args.requests, 20), "timeout": 5}
    runs = [("echo", {}),
            ("echo", {"connections": 2, "requests": 64, "pipeline": 64,
                      "payload_size": 20000, "seed": 99}),
            ("echo", {"connections": 1, "requests": 10, "pipeline": 1,
                      "payload_size": 3, "seed": 5}),
            ("corrupt", bad), ("reorder", bad), ("eof", bad)]
    for mode, overrides in runs:
        run_args = argparse.Namespace(**dict(vars(args), **overrides))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        threading.Thread(target=serve, args=(listener, mode),
                         daemon=True).start()
        try:
            run_all("127.0.0.1", listener.getsockname()[1], run_args)
        except BenchError as exc:
            if mode == "echo":
                raise BenchError("self-test: %s" % exc)
            print("bench_client: self-test: %s server rejected as expected: %s"
                  % (mode, exc))
        else:
            if mode != "echo":
                raise BenchError("self-test: client accepted a %s server"
                                 % mode)
            print("bench_client: self-test: echo server OK with %r"
                  % (overrides or "defaults"))
        finally:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            except OSError:
                pass
            listener.close()
    print("bench_client: self-test passed")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", metavar="HOST:PORT")
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--payload-size", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if (args.connections < 1 or args.requests < 0 or args.pipeline < 1
            or args.payload_size < 0 or args.timeout <= 0):
        parser.error("counts must be positive and sizes non-negative")
    try:
        if args.self_test:
            self_test(args)
            return 0
        host, _, port = (args.connect or "").rpartition(":")
        if not host or not port.isdigit():
            parser.error("--connect HOST:PORT is required")
        run_all(host.strip("[]"), int(port), args)
    except BenchError as exc:
        print("bench_client: error: %s" % exc, file=sys.stderr)
        return 1
    print("bench_client: %d connections x %d requests, all replies verified"
          % (args.connections, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
