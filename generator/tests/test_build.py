"""build_file(): descriptors + a validated spec -> the model the templates see."""

import pytest

import wiregen
from conftest import EXAMPLES, dedent
from wiregen.build import build_file, message_index
from wiregen.framing import load_spec
from wiregen.validate import validate

BENCH_PROTO = """
syntax = "proto3";
package bench;
message EchoRequest { uint64 seq = 1; bytes payload = 2; }
message EchoReply { uint64 seq = 1; bytes payload = 2; }
"""

MUMBLE_PROTO = """
syntax = "proto2";
package MumbleProto;
message Version { optional uint32 version = 1; }
message UDPTunnel { required bytes packet = 1; }
message Authenticate { optional string username = 1; }
message Ping { optional uint64 timestamp = 1; }
"""

# Riak's riak.proto has no package: its types live in the global namespace.
RIAK_PROTO = """
syntax = "proto2";
message RpbErrorResp { required bytes errmsg = 1; required uint32 errcode = 2; }
message RpbGetServerInfoResp { optional bytes node = 1; }
message RpbGetReq { required bytes bucket = 1; required bytes key = 2; }
message RpbGetResp { optional bytes vclock = 2; }
"""

LAB_PROTO = """
syntax = "proto3";
package lab;
message A {}
message B {}
message C {}
message D {}
"""

BENCH_SPEC = (EXAMPLES / "echo" / "echo.framing.textpb").read_text()

# Mumble's TCP control channel: u16 type, u32 length of the payload, big-endian.
MUMBLE_SPEC = """
byte_order: BIG_ENDIAN
header { name: "type" width: U16 role: MESSAGE_ID }
header { name: "length" width: U32 role: LENGTH }
length_counts: PAYLOAD
max_frame_size: 8388614
message { id: 0 type: "MumbleProto.Version" sender: BOTH }
message { id: 1 type: "MumbleProto.UDPTunnel" sender: BOTH }
message { id: 2 type: "MumbleProto.Authenticate" sender: CLIENT }
message { id: 3 type: "MumbleProto.Ping" sender: BOTH }
"""

# Riak PBC: u32 big-endian length counting the u8 message code and the payload.
RIAK_SPEC = """
byte_order: BIG_ENDIAN
header { name: "length" width: U32 role: LENGTH }
header { name: "code" width: U8 role: MESSAGE_ID }
length_counts: AFTER_LENGTH_FIELD
message { id: 0 type: "RpbErrorResp" sender: SERVER }
message { id: 8 type: "RpbGetServerInfoResp" sender: SERVER }
message { id: 9 type: "RpbGetReq" sender: CLIENT }
message { id: 10 type: "RpbGetResp" sender: SERVER }
"""


def lab_spec(header="", length_counts="AFTER_LENGTH_FIELD", extra="", messages=None):
    """A spec for lab.proto: u32 length, u16 type, then `header` lines."""
    messages = messages or 'message { id: 1 type: "lab.A" sender: CLIENT }'
    return "\n".join([
        "byte_order: LITTLE_ENDIAN",
        'header { name: "length" width: U32 role: LENGTH }',
        'header { name: "type" width: U16 role: MESSAGE_ID }',
        header,
        f"length_counts: {length_counts}",
        extra,
        messages,
    ])


@pytest.fixture
def build(protoc_compile):
    """build(files, spec, proto_name): the validated model of `proto_name`."""

    def run(files, spec, proto_name, framing_name="x.framing.textpb"):
        protos = protoc_compile(files)
        messages = message_index(protos)
        loaded = load_spec("x.framing.textpb", dedent(spec))
        validate(loaded, {name: where[1] for name, where in messages.items()})
        proto = next(proto for proto in protos if proto.name == proto_name)
        return build_file(proto, loaded, framing_name, messages)

    return run


def fields_of(framing):
    return [(f.name, f.role, f.offset, f.size, f.cpp_type) for f in framing.fields]


def test_bench_protocol(build):
    model = build({"echo.proto": BENCH_PROTO}, BENCH_SPEC, "echo.proto", "echo.framing.textpb")
    framing = model.framing
    assert fields_of(framing) == [
        ("length", "length", 0, 4, "std::uint32_t"),
        ("type", "message_id", 4, 2, "std::uint16_t"),
    ]
    assert (framing.byte_order, framing.header_size, framing.length_bias) == ("big", 6, 2)
    # The echo spec raises the limit from the default (1 MiB) to 4 MiB.
    assert (framing.max_frame_size, framing.max_payload_size) == (4194304, 4194298)
    assert (framing.length.name, framing.message_id.name) == ("length", "type")
    assert (framing.request_id, framing.flags, framing.constants) == (None, None, ())
    assert framing.has_meta is False
    assert [f.encode_expression for f in framing.fields] == ["length", "id"]
    assert framing.layout_comment == (
        "offset  size  field    meaning",
        "0       4     length   length of the bytes after it",
        "4       2     type     message id",
        "6       n     payload  the serialized message",
    )
    assert [(m.full_name, m.cpp_type, m.id, m.id_literal, m.sender) for m in model.messages] == [
        ("bench.EchoRequest", "EchoRequest", 1, "1u", "client"),
        ("bench.EchoReply", "EchoReply", 2, "2u", "server"),
    ]


def test_default_max_frame_size_is_one_mib(build):
    spec = BENCH_SPEC.replace("max_frame_size: 4194304", "")
    framing = build({"echo.proto": BENCH_PROTO}, spec, "echo.proto").framing
    assert (framing.max_frame_size, framing.max_payload_size) == (1048576, 1048570)


@pytest.mark.parametrize("line, max_length, max_frame_size", [
    ("", 1024, 1025),
    ('line { delimiter: "\\r\\n" }', 1024, 1026),
    ("line { max_length: 510 }", 510, 511),
])
def test_line_defaults(build, line, max_length, max_frame_size):
    spec = f"format: LINE_DELIMITED\n{line}\n"
    framing = build({"echo.proto": BENCH_PROTO}, spec, "echo.proto").framing
    assert (framing.line.max_length, framing.max_frame_size) == (max_length, max_frame_size)
    assert framing.max_payload_size == max_length


def test_bench_file_fields(build):
    model = build({"echo.proto": BENCH_PROTO}, BENCH_SPEC, "echo.proto", "echo.framing.textpb")
    assert model.proto_name == "echo.proto"
    assert model.framing_name == "echo.framing.textpb"
    assert model.generator_version == wiregen.__version__
    assert model.runtime_abi == wiregen.RUNTIME_ABI
    assert (model.header_name, model.source_name) == ("echo.wiregen.h", "echo.wiregen.cc")
    assert model.include_guard == "WIREGEN_GENERATED_ECHO_WIREGEN_H_"
    assert model.pb_headers == ("echo.pb.h",)
    assert model.namespace == ("bench",)


def test_mumble_control_channel(build):
    model = build({"Mumble.proto": MUMBLE_PROTO}, MUMBLE_SPEC, "Mumble.proto")
    framing = model.framing
    assert fields_of(framing) == [
        ("type", "message_id", 0, 2, "std::uint16_t"),
        ("length", "length", 2, 4, "std::uint32_t"),
    ]
    assert (framing.header_size, framing.length_bias) == (6, 0)
    assert (framing.max_frame_size, framing.max_payload_size) == (8388614, 8388608)
    assert framing.length.description == "length of the payload"
    assert model.namespace == ("MumbleProto",)
    assert [(m.id, m.cpp_type) for m in model.messages] == [
        (0, "Version"), (1, "UDPTunnel"), (2, "Authenticate"), (3, "Ping")]


def test_riak_pbc(build):
    model = build({"riak.proto": RIAK_PROTO}, RIAK_SPEC, "riak.proto")
    framing = model.framing
    assert fields_of(framing) == [
        ("length", "length", 0, 4, "std::uint32_t"),
        ("code", "message_id", 4, 1, "std::uint8_t"),
    ]
    assert (framing.header_size, framing.length_bias) == (5, 1)
    assert model.namespace == ()
    assert [(m.id, m.id_literal, m.cpp_type) for m in model.messages] == [
        (0, "0u", "RpbErrorResp"), (8, "8u", "RpbGetServerInfoResp"),
        (9, "9u", "RpbGetReq"), (10, "0xau", "RpbGetResp")]


@pytest.mark.parametrize(
    "adjustment, bias, description",
    [
        ("", 6, "length of the whole frame"),
        ("length_adjustment: -6", 0, "length of the whole frame, -6"),
        ("length_adjustment: -2", 4, "length of the whole frame, -2"),
        ("length_adjustment: 4", 10, "length of the whole frame, +4"),
    ],
)
def test_whole_frame(build, adjustment, bias, description):
    model = build({"lab.proto": LAB_PROTO}, lab_spec(length_counts="WHOLE_FRAME",
                                                     extra=adjustment), "lab.proto")
    assert (model.framing.header_size, model.framing.length_bias) == (6, bias)
    assert model.framing.length.description == description


@pytest.mark.parametrize(
    "counts, adjustment, bias",
    [
        ("AFTER_LENGTH_FIELD", 0, 2),
        ("AFTER_LENGTH_FIELD", 3, 5),
        ("PAYLOAD", 0, 0),
        ("PAYLOAD", 1, 1),
    ],
)
def test_length_bias(build, counts, adjustment, bias):
    model = build({"lab.proto": LAB_PROTO},
                  lab_spec(length_counts=counts, extra=f"length_adjustment: {adjustment}"),
                  "lab.proto")
    assert model.framing.length_bias == bias


@pytest.mark.parametrize(
    "header, has_meta",
    [
        ("", False),
        ('header { name: "magic" width: U8 role: CONSTANT value: 7 }', False),
        ('header { name: "pad" width: U16 role: RESERVED }', False),
        ('header { name: "rid" width: U32 role: REQUEST_ID }', True),
        ('header { name: "flags" width: U8 role: FLAGS }', True),
        ('header { name: "rid" width: U64 role: REQUEST_ID }\n'
         'header { name: "flags" width: U16 role: FLAGS }', True),
    ],
)
def test_has_meta(build, header, has_meta):
    model = build({"lab.proto": LAB_PROTO}, lab_spec(header=header), "lab.proto")
    assert model.framing.has_meta is has_meta
    assert (model.framing.request_id is not None) == ("REQUEST_ID" in header)
    assert (model.framing.flags is not None) == ("FLAGS" in header)


def test_every_role(build):
    header = "\n".join([
        'header { name: "magic" width: U16 role: CONSTANT value: 0xbeef }',
        'header { name: "version" width: U8 role: CONSTANT value: 2 }',
        'header { name: "rid" width: U64 role: REQUEST_ID }',
        'header { name: "flags" width: U8 role: FLAGS }',
        'header { name: "pad" width: U8 role: RESERVED }',
    ])
    framing = build({"lab.proto": LAB_PROTO}, lab_spec(header=header), "lab.proto").framing
    assert framing.byte_order == "little"
    assert [(f.name, f.offset, f.size, f.cpp_type, f.value_literal, f.encode_expression,
             f.description) for f in framing.fields] == [
        ("length", 0, 4, "std::uint32_t", "0u", "length", "length of the bytes after it"),
        ("type", 4, 2, "std::uint16_t", "0u", "id", "message id"),
        ("magic", 6, 2, "std::uint16_t", "0xbeefu", "0xbeefu", "constant 0xbeef"),
        ("version", 8, 1, "std::uint8_t", "2u", "2u", "constant 0x2"),
        ("rid", 9, 8, "std::uint64_t", "0ull", "meta.request_id", "request id"),
        ("flags", 17, 1, "std::uint8_t", "0u", "meta.flags", "flags"),
        ("pad", 18, 1, "std::uint8_t", "0u", "0", "reserved"),
    ]
    assert framing.header_size == 19
    assert framing.length_bias == 15
    assert [f.name for f in framing.constants] == ["magic", "version"]
    assert (framing.request_id.name, framing.flags.name) == ("rid", "flags")


def test_roles(build):
    messages = "\n".join([
        'message { id: 4 type: "lab.D" sender: CLIENT }',
        'message { id: 2 type: "lab.B" sender: SERVER }',
        'message { id: 3 type: "lab.C" sender: BOTH }',
        'message { id: 1 type: "lab.A" sender: CLIENT }',
    ])
    model = build({"lab.proto": LAB_PROTO}, lab_spec(messages=messages), "lab.proto")

    def ids(messages):
        return [m.id for m in messages]

    assert ids(model.messages) == [1, 2, 3, 4]  # sorted by id, not by table order
    server, client = model.server, model.client
    assert (ids(server.incoming), ids(server.outgoing), ids(server.unexpected)) == (
        [1, 3, 4], [2, 3], [2])
    assert (ids(client.incoming), ids(client.outgoing), ids(client.unexpected)) == (
        [2, 3], [1, 3, 4], [1, 4])
    assert (server.name, server.peer, client.name, client.peer) == (
        "server", "client", "client", "server")
    assert (server.handler, server.session, server.dispatcher, server.endpoint) == (
        "server_handler", "server_session", "server_dispatcher", "server")
    assert (client.runtime_endpoint, client.runtime_options) == (
        "wiregen::client", "wiregen::client_options")


def test_wide_message_ids(build):
    messages = "\n".join([
        'message { id: 65535 type: "lab.B" sender: SERVER }',
        'message { id: 9 type: "lab.A" sender: CLIENT }',
        'message { id: 10 type: "lab.C" sender: BOTH }',
    ])
    model = build({"lab.proto": LAB_PROTO}, lab_spec(messages=messages), "lab.proto")
    assert [(m.id, m.id_literal) for m in model.messages] == [
        (9, "9u"), (10, "0xau"), (65535, "0xffffu")]


NESTED_FILES = {
    "other/v1/things.proto": """
        syntax = "proto3";
        package other.v1;
        message Thing { message Part {} }
        """,
    "app/main.proto": """
        syntax = "proto3";
        package app;
        import "other/v1/things.proto";
        message Outer { message Inner { message Deepest {} } }
        message Req { other.v1.Thing thing = 1; }
        """,
}

NESTED_SPEC = """
byte_order: BIG_ENDIAN
header { name: "length" width: U32 role: LENGTH }
header { name: "type" width: U8 role: MESSAGE_ID }
length_counts: PAYLOAD
message { id: 1 type: "app.Req" sender: CLIENT }
message { id: 2 type: "app.Outer.Inner" sender: SERVER }
message { id: 3 type: "app.Outer.Inner.Deepest" sender: SERVER }
message { id: 4 type: "other.v1.Thing" sender: CLIENT }
message { id: 5 type: ".other.v1.Thing.Part" sender: SERVER }
"""


def test_nested_and_cross_package_messages(build):
    model = build(NESTED_FILES, NESTED_SPEC, "app/main.proto")
    assert [(m.full_name, m.cpp_type) for m in model.messages] == [
        ("app.Req", "Req"),
        ("app.Outer.Inner", "Outer_Inner"),
        ("app.Outer.Inner.Deepest", "Outer_Inner_Deepest"),
        ("other.v1.Thing", "::other::v1::Thing"),
        ("other.v1.Thing.Part", "::other::v1::Thing_Part"),
    ]
    assert model.pb_headers == ("app/main.pb.h", "other/v1/things.pb.h")
    assert (model.header_name, model.source_name) == (
        "app/main.wiregen.h", "app/main.wiregen.cc")
    assert model.include_guard == "WIREGEN_GENERATED_APP_MAIN_WIREGEN_H_"
    assert model.namespace == ("app",)


def test_message_index_covers_nested_messages_and_imports(protoc_compile):
    index = message_index(protoc_compile(NESTED_FILES))
    assert index == {
        "other.v1.Thing": ("other.v1", "other/v1/things.proto"),
        "other.v1.Thing.Part": ("other.v1", "other/v1/things.proto"),
        "app.Outer": ("app", "app/main.proto"),
        "app.Outer.Inner": ("app", "app/main.proto"),
        "app.Outer.Inner.Deepest": ("app", "app/main.proto"),
        "app.Req": ("app", "app/main.proto"),
    }


def test_pb_headers_only_name_files_the_table_uses(build):
    spec = NESTED_SPEC.split("message {")[0] + \
        'message { id: 4 type: "other.v1.Thing" sender: CLIENT }\n'
    model = build(NESTED_FILES, spec, "app/main.proto")
    assert model.pb_headers == ("other/v1/things.pb.h",)


def test_varint_length_sized_with_a_positive_adjustment(build):
    # 127 bytes of frame and an adjustment of 10: the length reaches 137,
    # two varint bytes. Sizing it from the frame alone (one byte) let a
    # 124-byte payload make a 128-byte frame, which the peer refuses.
    spec = "\n".join([
        "byte_order: BIG_ENDIAN",
        'header { name: "length" width: VARINT role: LENGTH }',
        'header { name: "type" width: U16 role: MESSAGE_ID }',
        "length_counts: PAYLOAD",
        "length_adjustment: 10",
        "max_frame_size: 127",
        'message { id: 1 type: "lab.A" sender: CLIENT }',
    ])
    framing = build({"lab.proto": LAB_PROTO}, spec, "lab.proto").framing
    assert (framing.max_header_size, framing.max_payload_size) == (4, 123)
