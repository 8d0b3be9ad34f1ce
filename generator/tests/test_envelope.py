"""A oneof envelope: the set field names the message; ids are field numbers."""

import pytest

from conftest import dedent, make_request
from wiregen.generate import generate
from wiregen.naming import camel_case

PROTO = {"env.proto": """
    syntax = "proto3";
    package env;
    message Login { string user = 1; }
    message Welcome {}
    message Event { string text = 1; }
    message Wrapper {
      uint64 trace = 1;
      oneof body {
        Login login = 2;
        Welcome welcome = 3;
        Event some_event_2 = 17;
      }
      optional string note = 20;  // a synthetic oneof: not "the" oneof
    }
    message TwoOneofs {
      oneof a { Login login = 1; }
      oneof b { Welcome welcome = 2; }
    }
    message Twice {
      oneof body { Login first = 1; Login second = 2; }
    }
    """}

SPEC = """
format: VARINT_DELIMITED
envelope: "env.Wrapper"
message { type: "env.Login" sender: CLIENT }
message { type: "env.Welcome" sender: SERVER }
message { id: 17 type: "env.Event" sender: BOTH }
"""


def run(protoc_compile, spec):
    protos = protoc_compile(PROTO)
    return generate(make_request(protos, ["env.proto"], "framing=env.textpb"),
                    read_file=lambda _: dedent(spec))


def test_ids_are_the_oneof_field_numbers(protoc_compile):
    response = run(protoc_compile, SPEC)
    assert response.error == ""
    files = {f.name: f.content for f in response.file}
    header, source = files["env.wiregen.h"], files["env.wiregen.cc"]
    assert "struct message_id<Login>\n    : std::integral_constant<std::uint32_t, 2u>" in header
    assert "struct message_id<Event>\n    : std::integral_constant<std::uint32_t, 0x11u>" in header
    assert "static constexpr std::uint32_t envelope_field = message_id<Message>::value;" in header
    assert "switch (envelope.body_case()) {" in source
    assert "case Wrapper::kSomeEvent2:" in source
    assert "handler_.on_message(session, envelope.some_event_2());" in source
    assert "case Wrapper::kWelcome:  // only the server sends it" in source


def test_a_header_layout_with_an_envelope(protoc_compile):
    spec = SPEC.replace("format: VARINT_DELIMITED\n",
                        'byte_order: BIG_ENDIAN\nheader { name: "length" width: U32 role: LENGTH }\n'
                        "length_counts: PAYLOAD\n")
    assert run(protoc_compile, spec).error == ""


@pytest.mark.parametrize(
    "old, new, message",
    [
        pytest.param('envelope: "env.Wrapper"', 'envelope: "env.Wraper"',
                     "env.textpb:2: envelope 'env.Wraper': no such message in the .proto or its"
                     " imports (fix: did you mean 'env.Wrapper'?)", id="unknown"),
        pytest.param('envelope: "env.Wrapper"', 'envelope: "env.TwoOneofs"',
                     "env.textpb:2: envelope 'env.TwoOneofs': the envelope needs exactly one oneof"
                     " (fix: put a field for each message in one 'oneof body { ... }')",
                     id="two-oneofs"),
        pytest.param('envelope: "env.Wrapper"', 'envelope: "env.Login"',
                     "env.textpb:2: envelope 'env.Login': the envelope needs exactly one oneof"
                     " (fix: put a field for each message in one 'oneof body { ... }')",
                     id="no-oneof"),
        pytest.param('id: 17 type: "env.Event"', 'id: 5 type: "env.Event"',
                     "env.textpb:5: message[2] 'env.Event': id 5 differs from its oneof field"
                     " number 17 (fix: use id: 17, or leave the id out)", id="wrong-id"),
        pytest.param('type: "env.Welcome"', 'type: "env.Wrapper"',
                     "env.textpb:4: message[1] 'env.Wrapper': not a field of the envelope's oneof"
                     " 'body' (fix: add 'Wrapper wrapper = <number>;' to oneof body in"
                     " env.Wrapper)", id="not-a-member"),
    ],
)
def test_envelope_errors(protoc_compile, old, new, message):
    assert old in SPEC
    assert run(protoc_compile, SPEC.replace(old, new)).error == message


def test_two_fields_of_one_type_are_ambiguous(protoc_compile):
    spec = 'format: VARINT_DELIMITED\nenvelope: "env.Twice"\n' \
        'message { type: "env.Login" sender: CLIENT }\n'
    assert run(protoc_compile, spec).error == (
        "env.textpb:3: message[0] 'env.Login': 2 fields of oneof 'body' have this type, so a"
        " frame would not say which one is meant (fix: keep one field per message type in the"
        " oneof)")


def test_a_message_id_field_beside_an_envelope(protoc_compile):
    spec = SPEC.replace("format: VARINT_DELIMITED\n",
                        'byte_order: BIG_ENDIAN\nheader { name: "length" width: U32 role: LENGTH }\n'
                        'header { name: "type" width: U8 role: MESSAGE_ID }\n'
                        "length_counts: PAYLOAD\n")
    assert run(protoc_compile, spec).error == (
        "env.textpb:3: header[1] 'type': the envelope's oneof already says which message a"
        " frame carries (fix: remove the MESSAGE_ID field, or the envelope)")


@pytest.mark.parametrize("name, expected", [
    ("login", "Login"), ("login_request", "LoginRequest"), ("v2_ping", "V2Ping"),
    ("some_event_2", "SomeEvent2"), ("HTTPThing", "HTTPThing"), ("a__b", "AB")])
def test_camel_case_matches_protoc(name, expected):
    assert camel_case(name) == expected


def test_the_protocol_type_says_ids_are_not_on_the_wire(protoc_compile):
    header = {f.name: f.content for f in run(protoc_compile, SPEC).file}["env.wiregen.h"]
    assert "info{messages, rpcs, false, false};" in header
