"""`service` rpcs: checked against the message table, rendered as calls."""

import pytest

from conftest import dedent, make_request
from wiregen.generate import generate

PROTO = """
    syntax = "proto3";
    package svc;
    message Ask { string q = 1; }
    message Answer { string a = 1; }
    message Other {}
    message Status { int32 code = 1; string message = 2; }
    message BadStatus { string code = 1; }
    service Oracle {
      rpc Consult(Ask) returns (Answer);
    }
    """

SPEC = """
byte_order: BIG_ENDIAN
header { name: "length" width: U32 role: LENGTH }
header { name: "type" width: U8 role: MESSAGE_ID }
header { name: "rid" width: U32 role: REQUEST_ID }
length_counts: PAYLOAD
message { id: 1 type: "svc.Ask" sender: CLIENT }
message { id: 2 type: "svc.Answer" sender: SERVER }
message { id: 3 type: "svc.Status" sender: SERVER }
message { id: 4 type: "svc.BadStatus" sender: SERVER }
rpc { error: "svc.Status" }
"""


def run(protoc_compile, spec, proto=PROTO):
    protos = protoc_compile({"svc.proto": proto})
    return generate(make_request(protos, ["svc.proto"], "framing=svc.textpb"),
                    read_file=lambda _: dedent(spec))


def test_rpcs_become_handler_methods_and_client_calls(protoc_compile):
    response = run(protoc_compile, SPEC)
    assert response.error == ""
    files = {f.name: f.content for f in response.file}
    header, source = files["svc.wiregen.h"], files["svc.wiregen.cc"]
    assert "virtual wiregen::call_result<Answer> Consult(server_session& session, " \
        "const Ask& request, const wiregen::frame_meta& meta) = 0;" in header
    assert "auto Consult(const Ask& request, std::chrono::milliseconds deadline, " \
        "Token&& token) {" in header
    assert "wiregen::call_table::correlation::request_id" in header
    # The client's reply handler has a default body: replies complete calls.
    assert "virtual void on_message(client_session& /*session*/, const Answer& /*message*/" in header
    # The rpc's row in the protocol's table names it in metrics and traces.
    assert "return wiregen::serve_call<Status>(\n          session, 0, header.meta,\n" \
        "          [&] { return handler_.Consult(session, message, header.meta); });" in source
    assert "wiregen::call_table::status(message.code(), message.message())" in source


def test_without_a_request_id_calls_go_in_order(protoc_compile):
    spec = SPEC.replace('header { name: "rid" width: U32 role: REQUEST_ID }\n', "")
    files = {f.name: f.content for f in run(protoc_compile, spec).file}
    assert "wiregen::call_table::correlation::in_order" in files["svc.wiregen.h"]


def test_without_rpc_error_a_failure_has_no_status(protoc_compile):
    spec = SPEC.replace('rpc { error: "svc.Status" }\n', "")
    files = {f.name: f.content for f in run(protoc_compile, spec).file}
    assert "wiregen::serve_call<void>" in files["svc.wiregen.cc"]


@pytest.mark.parametrize(
    "old, new, message",
    [
        pytest.param('message { id: 2 type: "svc.Answer" sender: SERVER }\n', "",
                     "svc.textpb: rpc Oracle.Consult: its reply 'svc.Answer' is not in the message"
                     " table (fix: add 'message { type: \"svc.Answer\" sender: SERVER }')",
                     id="reply-missing"),
        pytest.param('type: "svc.Ask" sender: CLIENT', 'type: "svc.Ask" sender: SERVER',
                     "svc.textpb: rpc Oracle.Consult: its request 'svc.Ask' is not sent by the"
                     " client in the message table (fix: set its sender to CLIENT or BOTH)",
                     id="request-wrong-side"),
        pytest.param('rpc { error: "svc.Status" }', 'rpc { error: "svc.BadStatus" }',
                     "svc.textpb:10: rpc.error 'svc.BadStatus': the error status needs an integer"
                     " field 'code' (fix: add 'int32 code = 1;' to the message)\n"
                     "svc.textpb:10: rpc.error 'svc.BadStatus': the error status needs a string"
                     " field 'message' (fix: add 'string message = 2;' to the message)",
                     id="status-fields"),
        pytest.param('rpc { error: "svc.Status" }', 'rpc { error: "svc.Ask" }',
                     "svc.textpb:10: rpc.error 'svc.Ask': the error status is not a message the"
                     " server sends in the table (fix: add 'message { type: \"svc.Ask\" sender:"
                     " SERVER }')", id="status-from-client"),
    ],
)
def test_service_errors(protoc_compile, old, new, message):
    assert old in SPEC
    assert run(protoc_compile, SPEC.replace(old, new)).error == message


def test_streaming_and_shared_requests(protoc_compile):
    proto = PROTO.replace("rpc Consult(Ask) returns (Answer);",
                          "rpc Consult(Ask) returns (Answer);\n"
                          "      rpc Again(Ask) returns (Answer);\n"
                          "      rpc Stream(Ask) returns (stream Answer);")
    assert run(protoc_compile, SPEC, proto).error.splitlines() == [
        "svc.textpb: rpc Oracle.Again: its request 'svc.Ask' is also the request of rpc"
        " Oracle.Consult, so a server could not tell which rpc is called (fix: give each rpc a"
        " request message of its own)",
        "svc.textpb: rpc Oracle.Stream: streaming rpcs are not supported (fix: make the request"
        " and the reply single messages, or send the stream as ordinary messages of the table)",
    ]


def test_raw_protocol_has_no_rpcs(protoc_compile):
    assert run(protoc_compile, "format: RAW\n").error == (
        "svc.textpb: service Oracle: a RAW protocol carries raw bytes, not the messages of an"
        " rpc (fix: remove the service from the .proto, or use a binary framing)")


def test_raw_protocol_renders_bytes_handlers(protoc_compile):
    proto = PROTO.replace("rpc Consult(Ask) returns (Answer);", "")
    response = run(protoc_compile, "format: RAW\n", proto)
    assert response.error == ""
    files = {f.name: f.content for f in response.file}
    header = files["svc.wiregen.h"]
    assert "virtual void on_data(server_session& session, std::span<const std::uint8_t> data)" \
        " = 0;" in header
    assert "class server_session : public wiregen::raw_session {" in header
    assert "class client : public wiregen::raw_client<client_session> {" in header
    assert "wiregen::raw_dispatcher<server_session, server_handler>" in header
    # No codec, message table or protocol description: nothing to decode.
    assert "namespace codec" not in header and "message_id" not in header
    assert "fuzz_raw<svc::server_dispatcher" in files["svc.wiregen.fuzz.cc"]


def test_rpc_error_without_rpcs(protoc_compile):
    proto = PROTO.replace("rpc Consult(Ask) returns (Answer);", "")
    assert run(protoc_compile, SPEC, proto).error == (
        "svc.textpb:10: rpc.error 'svc.Status': the .proto has no service rpcs to report errors"
        " of (fix: remove rpc.error, or add a service)")


def test_the_protocol_type_lists_messages_rpcs_and_correlation(protoc_compile):
    header = {f.name: f.content for f in run(protoc_compile, SPEC).file}["svc.wiregen.h"]
    assert '{"svc.Ask", 1, wiregen::message_sender::client},' in header
    assert '{"svc.Answer", 2, wiregen::message_sender::server},' in header
    assert '{"Oracle.Consult", "svc.Ask", "svc.Answer"},' in header
    assert "static constexpr std::uint64_t max_request_id = 0xffffffff" in header
    assert "info{messages, rpcs, true, true};" in header
    # Without a request id, replies come in order and no id has a maximum.
    spec = SPEC.replace('header { name: "rid" width: U32 role: REQUEST_ID }\n', "")
    header = {f.name: f.content for f in run(protoc_compile, spec).file}["svc.wiregen.h"]
    assert "info{messages, rpcs, true, false};" in header
    assert "static constexpr std::uint64_t max_request_id = 0;" in header
