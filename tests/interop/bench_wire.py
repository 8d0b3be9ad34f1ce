"""The bench protocol's wire format (../shared/bench-protocol.md) for the tests that talk to
echo_server from outside: a frame is a u32 big-endian length (type and payload), a u16 type
(1 EchoRequest, 2 EchoReply) and the protobuf payload."""

import socket
import struct


def frame(kind, body):
    """One frame of message type `kind` carrying `body`."""
    return struct.pack(">IH", len(body) + 2, kind) + body


def varint(value):
    """`value` as a protobuf base-128 varint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def free_port():
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
