"""The model the templates see: frozen, decided, free of descriptor objects.

build.py makes every decision (offsets, C++ names, which side sends what,
the C++ expression each header field is written from); templates only loop
over these objects and test their flags.
"""

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class HeaderField:
    """One header field: fixed-width at a known offset, or a varint."""

    name: str
    role: str  # length, message_id, request_id, flags, constant, reserved
    offset: Optional[int]  # None once a varint came before it
    size: int  # fixed width in bytes; the most bytes a varint is read from
    varint: bool
    byte_order: str  # wiregen::byte_order enumerator: big / little
    cpp_type: str  # std::uint8_t ... std::uint64_t: holds every value
    value: int  # the required value of a constant, else 0
    value_literal: str  # value as a C++ literal, e.g. 0x57u
    encode_expression: str  # what encode writes: length, id, meta.request_id, ...
    size_expression: str  # C++: its size when written, e.g. 2 or varint::size_of(id)
    too_long_error: str  # a varint's error past `size` bytes
    description: str  # for the layout comment


@dataclass(frozen=True)
class Trailer:
    """A checksum after the payload."""

    size: int
    algorithm: str  # crc32c
    covers_header: bool  # false: the payload only
    byte_order: str


@dataclass(frozen=True)
class Envelope:
    """A wrapper message whose oneof says which message a frame carries."""

    full_name: str
    cpp_type: str
    case_accessor: str  # body_case


@dataclass(frozen=True)
class LineFormat:
    """How the lines of a LINE_DELIMITED protocol end."""

    delimiter_literal: str  # a C++ string literal: "\r\n"
    delimiter_size: int
    max_length: int


@dataclass(frozen=True)
class Framing:
    """The frame layout, shared by both sides."""

    format: str  # header_fields / varint_delimited / line_delimited / raw
    byte_order: str  # the spec's default: big / little
    fields: Tuple[HeaderField, ...]
    # A varint field makes the header variable: scanned field by field.
    variable: bool
    header_size: int  # fixed header: its size; variable: the smallest
    max_header_size: int
    length: Optional[HeaderField]  # None for text lines
    # C++ for the LENGTH value of a variable header given `payload_size`,
    # `id` and `meta` (write), and for the bytes it counts beside the payload
    # given `reader` and `length_end` (read).
    length_value_expression: str
    length_overhead_expression: Optional[str]  # None: the length is the payload's size
    # The overhead expression reads `length_end`, where the LENGTH field ends.
    needs_length_end: bool
    trailer: Optional[Trailer]
    # None when the header has no MESSAGE_ID field: each side then sends one
    # message type, and frames carry no id.
    message_id: Optional[HeaderField]
    id_type: str  # the C++ type of message ids, e.g. std::uint16_t
    request_id: Optional[HeaderField]
    flags: Optional[HeaderField]
    constants: Tuple[HeaderField, ...]
    # Fixed header: payload size = length value - length_bias (>= 0, validated).
    length_bias: int
    max_frame_size: int
    max_payload_size: int
    has_meta: bool  # the header carries a request id or flags
    envelope: Optional[Envelope]
    line: Optional[LineFormat]  # set for line_delimited, the only field that matters then
    layout_comment: Tuple[str, ...]
    # RAW: no frames; handlers get bytes as they arrive (on_data).
    raw: bool = False

    @property
    def carries_messages(self) -> bool:
        """Frames hold protobuf messages: not lines, not raw bytes."""
        return self.line is None and not self.raw


@dataclass(frozen=True)
class Message:
    """One entry of the message table."""

    full_name: str  # bench.EchoRequest
    cpp_type: str  # EchoRequest, or ::other::Type from another package
    id: int
    id_literal: str
    sender: str  # client / server / both
    # With an envelope: the oneof case constant (Packet::kHello) and the
    # accessor of the field (hello).
    envelope_case: Optional[str] = None
    envelope_accessor: Optional[str] = None


@dataclass(frozen=True)
class Rpc:
    """One rpc of a `service`: a request the server answers with a reply."""

    service: str  # Greeter
    name: str  # SayHello: the C++ method on the server handler and the client
    request: Message
    reply: Message
    index: int = 0  # its row in the protocol's table of rpcs


@dataclass(frozen=True)
class Incoming:
    """A message one side receives, and what receiving it means."""

    message: Message
    # Server: the rpc this message is the request of (its handler method
    # replaces on_message).
    rpc: Optional[Rpc]
    # Client: a reply or the error status, which may complete a call first
    # (on_message then has a default body: only pushes reach it).
    completes_call: bool
    is_status: bool


@dataclass(frozen=True)
class Role:
    """One side of a connection: what it receives and what it may send."""

    name: str  # server / client
    handler: str  # server_handler
    session: str  # server_session
    dispatcher: str  # server_dispatcher
    endpoint: str  # the generated wrapper of wiregen::server / wiregen::client
    runtime_endpoint: str  # wiregen::server
    runtime_options: str  # wiregen::server_options
    peer: str  # client
    incoming: Tuple[Message, ...]
    outgoing: Tuple[Message, ...]
    unexpected: Tuple[Message, ...]  # in the table, but only this side sends them
    # Without a message id: the one message this side receives, if any.
    only_incoming: Optional[Message]
    heartbeat: Optional[Message]  # the spec's heartbeat, if this side sends it
    handlers: Tuple[Incoming, ...]  # incoming, with what each means


@dataclass(frozen=True)
class File:
    """Everything one <name>.wiregen.h/.cc pair is rendered from."""

    proto_name: str  # echo.proto (as protoc names it)
    framing_name: str  # echo.framing.textpb
    generator_version: str
    runtime_abi: int
    header_name: str  # echo.wiregen.h
    source_name: str  # echo.wiregen.cc
    fuzz_source_name: str  # echo.wiregen.fuzz.cc: the libFuzzer target
    include_guard: str
    pb_headers: Tuple[str, ...]
    namespace: Tuple[str, ...]  # ("bench",)
    framing: Framing
    messages: Tuple[Message, ...]  # sorted by id
    server: Role
    client: Role
    rpcs: Tuple[Rpc, ...]
    rpc_error: Optional[Message]  # the spec's error status message
    correlation: str  # request_id / in_order: how replies find their calls
    # Whether a frame's header says which message it carries (not so with an
    # envelope, which says it in the payload, or without a MESSAGE_ID field).
    ids_on_wire: bool
    max_request_id: str  # C++: the largest value the REQUEST_ID field holds
