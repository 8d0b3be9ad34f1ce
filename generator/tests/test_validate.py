"""validate(): every spec check, each pointing at the spec's file, line and a fix."""

import pytest

from conftest import EXAMPLES, SPEC_PATH, dedent, spec_errors
from wiregen.diagnostics import SpecError
from wiregen.framing import load_spec
from wiregen.validate import validate


def check(diagnostic, line, subject, message, fix):
    """The diagnostic says exactly this, at this line, and its fix says `fix`."""
    assert (diagnostic.path, diagnostic.line, diagnostic.subject, diagnostic.message) == (
        SPEC_PATH, line, subject, message)
    assert fix in diagnostic.fix
    where = f"{SPEC_PATH}:{line}" if line else SPEC_PATH
    assert str(diagnostic) == f"{where}: {subject}: {message} (fix: {diagnostic.fix})"


def check_all(text, expected, messages=None):
    diagnostics = spec_errors(text, messages)
    assert [(d.line, d.subject, d.message) for d in diagnostics] == [e[:3] for e in expected]
    for diagnostic, (line, subject, message, fix) in zip(diagnostics, expected):
        check(diagnostic, line, subject, message, fix)


# The bench protocol, one entry per line; cases below change one thing.
BENCH = """
byte_order: BIG_ENDIAN
header { name: "length" width: U32 role: LENGTH }
header { name: "type" width: U16 role: MESSAGE_ID }
length_counts: AFTER_LENGTH_FIELD
message { id: 1 type: "bench.EchoRequest" sender: CLIENT }
message { id: 2 type: "bench.EchoReply" sender: SERVER }
"""


def bench(*replacements):
    """BENCH with each (old, new) replaced; old must occur."""
    text = BENCH
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_bench_spec_is_valid():
    assert spec_errors(BENCH) == []


def test_one_message_each_way_needs_no_message_id():
    # gRPC's message prefix: a flag and a length, nothing naming the message.
    assert spec_errors(bench(("role: MESSAGE_ID", "role: FLAGS"))) == []


def test_examples_are_valid():
    chat_messages = {f"chat.{name}": "chat.proto" for name in (
        "LoginRequest", "LoginReply", "JoinRoom", "Joined", "Say", "Line", "Notice")}
    for name, messages in (("echo", None), ("chat", chat_messages)):
        path = EXAMPLES / name / f"{name}.framing.textpb"
        assert spec_errors(path.read_text(), messages, path=str(path)) == [], name


@pytest.mark.parametrize(
    "text, expected",
    [
        # --- top level ------------------------------------------------------
        pytest.param(
            bench(("byte_order: BIG_ENDIAN\n", "")),
            [(None, "byte_order", "the byte order is not set",
              "add 'byte_order: BIG_ENDIAN' or 'byte_order: LITTLE_ENDIAN'")],
            id="byte-order-unset",
        ),
        pytest.param(
            bench(("length_counts: AFTER_LENGTH_FIELD\n", "")),
            [(None, "length_counts", "what the length field counts is not set",
              "add 'length_counts: AFTER_LENGTH_FIELD', 'PAYLOAD' or 'WHOLE_FRAME'")],
            id="length-counts-unset",
        ),
        pytest.param(
            bench(("length_counts: AFTER_LENGTH_FIELD\n",
                   "length_counts: AFTER_LENGTH_FIELD\n\nmax_frame_size: 2147483648\n")),
            [(6, "max_frame_size", "2147483648 is larger than protobuf can parse",
              "use at most 2147483647")],
            id="max-frame-size-above-2GiB",
        ),
        pytest.param(
            "\n".join(line for line in BENCH.splitlines() if "message" not in line),
            [(None, "message", "the message table is empty",
              "add entries like 'message { id: 1 type: \"pkg.Request\" sender: CLIENT }'")],
            id="empty-message-table",
        ),
        # --- header ---------------------------------------------------------
        pytest.param(
            "\n".join(line for line in BENCH.splitlines() if "header" not in line),
            [(None, "header", "the header has no fields",
              "add at least a LENGTH field (and a MESSAGE_ID field for several messages)")],
            id="empty-header",
        ),
        pytest.param(
            bench(("header { name: \"type\" ", "header { ")),
            [(3, "header[1] ''", "a header field needs a name that is a C++ identifier",
              "set name: \"length\" (letters, digits, underscores)")],
            id="field-without-name",
        ),
        pytest.param(
            bench(('name: "type"', 'name: "msg-type"')),
            [(3, "header[1] 'msg-type'", "a header field needs a name that is a C++ identifier",
              "letters, digits, underscores")],
            id="name-with-dash",
        ),
        pytest.param(
            bench(('name: "type"', 'name: "2type"')),
            [(3, "header[1] '2type'", "a header field needs a name that is a C++ identifier",
              "letters, digits, underscores")],
            id="name-starting-with-digit",
        ),
        pytest.param(
            bench(('name: "type"', 'name: "length"')),
            [(3, "header[1] 'length'", "the name is also used by header[0]",
              "give every header field its own name")],
            id="duplicate-name",
        ),
        pytest.param(
            bench(("width: U16 ", "")),
            [(3, "header[1] 'type'", "the width is not set", "add 'width: U8', U16, U24, U32, U64 or VARINT")],
            id="width-unset",
        ),
        pytest.param(
            bench((" role: MESSAGE_ID", "")),
            [(3, "header[1] 'type'", "the role is not set",
              "add 'role: LENGTH', MESSAGE_ID, REQUEST_ID, FLAGS, CONSTANT or RESERVED")],
            id="role-unset",
        ),
        pytest.param(
            bench(("header { name: \"type\" width: U16 role: MESSAGE_ID }\n",
                   "header { name: \"type\" width: U16 role: MESSAGE_ID }\n"
                   "header { name: \"length2\" width: U16 role: LENGTH }\n")),
            [(4, "header[2] 'length2'", "a second length field (the first is header[0])",
              "keep one length field")],
            id="second-length",
        ),
        pytest.param(
            bench(("header { name: \"type\" width: U16 role: MESSAGE_ID }\n",
                   "header { name: \"type\" width: U16 role: MESSAGE_ID }\n"
                   "header { name: \"type2\" width: U16 role: MESSAGE_ID }\n")),
            [(4, "header[2] 'type2'", "a second message id field (the first is header[1])",
              "keep one message id field")],
            id="second-message-id",
        ),
        pytest.param(
            bench(("header { name: \"type\" width: U16 role: MESSAGE_ID }\n",
                   "header { name: \"type\" width: U16 role: MESSAGE_ID }\n"
                   "header { name: \"rid\" width: U32 role: REQUEST_ID }\n"
                   "header { name: \"rid2\" width: U32 role: REQUEST_ID }\n")),
            [(5, "header[3] 'rid2'", "a second request id field (the first is header[2])",
              "keep one request id field")],
            id="second-request-id",
        ),
        pytest.param(
            bench(("header { name: \"type\" width: U16 role: MESSAGE_ID }\n",
                   "header { name: \"flags\" width: U8 role: FLAGS }\n"
                   "header { name: \"type\" width: U16 role: MESSAGE_ID }\n"
                   "header { name: \"more_flags\" width: U8 role: FLAGS }\n")),
            [(5, "header[3] 'more_flags'", "a second flags field (the first is header[1])",
              "keep one flags field")],
            id="second-flags",
        ),
        pytest.param(
            bench(("role: LENGTH", "role: RESERVED")),
            [(2, "header", "no length field",
              "add 'header { name: \"...\" width: U32 role: LENGTH }'")],
            id="no-length",
        ),
        pytest.param(
            bench(("role: MESSAGE_ID", "role: FLAGS"), ("sender: CLIENT", "sender: BOTH")),
            [(6, "message[1] 'bench.EchoReply'",
              "the server already sends 'bench.EchoRequest' (message[0]), and the header has no"
              " MESSAGE_ID field to tell them apart",
              "add a MESSAGE_ID field to the header, or wrap the messages in one message with a"
              " oneof")],
            id="no-message-id-two-messages-one-side",
        ),
        pytest.param(
            bench(("byte_order: BIG_ENDIAN\n",
                   "byte_order: BIG_ENDIAN\n"
                   "header {\n  name: \"magic\"\n  width: U8\n  role: CONSTANT\n"
                   "  value: 0x100\n}\n")),
            [(6, "header[0] 'magic'", "constant value 0x100 does not fit in 1 byte(s)",
              "use a value below 0x100 or a wider field")],
            id="constant-too-wide",
        ),
        pytest.param(
            bench(("byte_order: BIG_ENDIAN\n",
                   "byte_order: BIG_ENDIAN\n"
                   "header { name: \"version\" width: U16 role: CONSTANT value: 65536 }\n")),
            [(2, "header[0] 'version'", "constant value 0x10000 does not fit in 2 byte(s)",
              "use a value below 0x10000 or a wider field")],
            id="u16-constant-too-wide",
        ),
        pytest.param(
            bench(("role: LENGTH }", "role: LENGTH\n  value: 3 }")),
            [(3, "header[0] 'length'", "only CONSTANT fields take a value",
              "remove 'value' or make the role CONSTANT")],
            id="value-on-length",
        ),
        pytest.param(
            bench(("byte_order: BIG_ENDIAN\n",
                   "byte_order: BIG_ENDIAN\n"
                   "header { name: \"pad\" width: U8 role: RESERVED value: 1 }\n")),
            [(2, "header[0] 'pad'", "only CONSTANT fields take a value",
              "remove 'value' or make the role CONSTANT")],
            id="value-on-reserved",
        ),
        # --- length ---------------------------------------------------------
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "PAYLOAD\nlength_adjustment: -1\n")),
            [(5, "length_adjustment", "an empty frame would have the negative length -1",
              "use a length_adjustment of at least 0")],
            id="negative-length-payload",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nlength_adjustment: -5\n")),
            [(5, "length_adjustment", "an empty frame would have the negative length -3",
              "use a length_adjustment of at least -2")],
            id="negative-length-after-length-field",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "WHOLE_FRAME\nlength_adjustment: -7\n")),
            [(5, "length_adjustment", "an empty frame would have the negative length -1",
              "use a length_adjustment of at least -6")],
            id="negative-length-whole-frame",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 6\n")),
            [(5, "max_frame_size", "6 leaves no room for a payload after the 6-byte header",
              "use more than 6")],
            id="max-frame-size-equals-header",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 1\n")),
            [(5, "max_frame_size", "1 leaves no room for a payload after the 6-byte header",
              "use more than 6")],
            id="max-frame-size-below-header",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: U8 role: LENGTH"),
                  ("role: MESSAGE_ID }\n",
                   "role: MESSAGE_ID }\nheader { name: \"rid\" width: VARINT role: REQUEST_ID }\n"),
                  ("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 8\n")),
            [(6, "max_frame_size", "8 leaves no room for a payload after the longest header"
              " (13-byte header, its varints at their longest)", "use more than 13")],
            id="max-frame-size-below-longest-varint-header",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: VARINT role: LENGTH"),
                  ("AFTER_LENGTH_FIELD\n", "PAYLOAD\nlength_adjustment: 34359738368\n")),
            [(5, "length_adjustment", "a 1048576-byte frame needs a length of 34360786944,"
              " more than a 5-byte varint holds", "use a length_adjustment of at most 34358689791")],
            id="varint-length-adjustment-past-five-bytes",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: U16 role: LENGTH")),
            [(2, "header[0] 'length'",
              "a 1048576-byte frame needs a length of 1048574, more than 2 byte(s) hold",
              "set max_frame_size to at most 65537 or widen the length field")],
            id="u16-length-with-default-max",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: U16 role: LENGTH"),
                  ("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 65538\n")),
            [(2, "header[0] 'length'",
              "a 65538-byte frame needs a length of 65536, more than 2 byte(s) hold",
              "set max_frame_size to at most 65537 or widen the length field")],
            id="u16-length-one-byte-over",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: U8 role: LENGTH"),
                  ("AFTER_LENGTH_FIELD\n", "WHOLE_FRAME\nmax_frame_size: 300\n")),
            [(2, "header[0] 'length'",
              "a 300-byte frame needs a length of 300, more than 1 byte(s) hold",
              "set max_frame_size to at most 255 or widen the length field")],
            id="u8-whole-frame-length",
        ),
        # --- message table --------------------------------------------------
        pytest.param(
            bench(('"bench.EchoReply"', '"bench.EchoReplyy"')),
            [(6, "message[1] 'bench.EchoReplyy'", "no such message in the .proto or its imports",
              "did you mean 'bench.EchoReply'?")],
            id="misspelt-type",
        ),
        pytest.param(
            bench(('"bench.EchoReply"', '"EchoReply"')),
            [(6, "message[1] 'EchoReply'", "no such message in the .proto or its imports",
              "did you mean 'bench.EchoReply'?")],
            id="unqualified-type",
        ),
        pytest.param(
            bench(('"bench.EchoReply"', '"zzz.Nothing"')),
            [(6, "message[1] 'zzz.Nothing'", "no such message in the .proto or its imports",
              "use the fully qualified name, package included, of a message in the .proto")],
            id="unknown-type-without-suggestion",
        ),
        pytest.param(
            bench(('type: "bench.EchoReply" ', "")),
            [(6, "message[1]", "the entry names no message", "add 'type: \"package.Message\"'")],
            id="type-unset",
        ),
        pytest.param(
            bench(('message { id: 2 type: "bench.EchoReply" sender: SERVER }',
                   'message {\n  id: 2\n  type: "bench.EchoRequest"\n  sender: SERVER\n}')),
            [(6, "message[1] 'bench.EchoRequest'", "listed twice (also message[0])",
              "use sender: BOTH if both sides send it")],
            id="listed-twice",
        ),
        pytest.param(
            bench(('message { id: 2 type: "bench.EchoReply" sender: SERVER }',
                   'message {\n  type: "bench.EchoReply"\n  id: 1\n  sender: SERVER\n}')),
            [(8, "message[1] 'bench.EchoReply'", "id 1 is also used by message[0]",
              "give every message its own id")],
            id="duplicate-id",
        ),
        pytest.param(
            bench(("width: U16 role: MESSAGE_ID", "width: U8 role: MESSAGE_ID"),
                  ("id: 2 ", "id: 256 ")),
            [(6, "message[1] 'bench.EchoReply'",
              "id 256 does not fit the 1-byte message id field 'type'",
              "use an id below 256 or widen the field")],
            id="id-too-wide",
        ),
        pytest.param(
            bench((" sender: SERVER", "")),
            [(6, "message[1] 'bench.EchoReply'", "who sends this message is not set",
              "add 'sender: CLIENT', 'sender: SERVER' or 'sender: BOTH'")],
            id="sender-unset",
        ),
        # --- varints, byte orders, checksums -------------------------------
        pytest.param(
            bench(("byte_order: BIG_ENDIAN\n",
                   "byte_order: BIG_ENDIAN\n"
                   "header { name: \"magic\" width: VARINT role: CONSTANT value: 1 }\n")),
            [(2, "header[0] 'magic'", "a CONSTANT field needs a fixed width",
              "use width U8, U16, U24, U32 or U64")],
            id="varint-constant",
        ),
        pytest.param(
            bench(("width: U16 role: MESSAGE_ID", "width: U8 role: MESSAGE_ID byte_order: BIG_ENDIAN")),
            [(3, "header[1] 'type'", "a single byte or a varint has no byte order",
              "remove 'byte_order'")],
            id="byte-order-on-u8",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: VARINT role: LENGTH"),
                  ("AFTER_LENGTH_FIELD", "WHOLE_FRAME")),
            [(4, "length_counts", "a VARINT length cannot count the whole frame: its own size"
              " would depend on its value", "count AFTER_LENGTH_FIELD or PAYLOAD")],
            id="varint-whole-frame",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nchecksum { covers: PAYLOAD_ONLY }\n")),
            [(5, "checksum", "the checksum has no algorithm", "add 'algorithm: CRC32C'")],
            id="checksum-without-algorithm",
        ),
        pytest.param(
            bench(("AFTER_LENGTH_FIELD\n",
                   "AFTER_LENGTH_FIELD\nchecksum { algorithm: CRC32C }\nmax_frame_size: 10\n")),
            [(6, "max_frame_size", "10 leaves no room for a payload after the 6-byte header and"
              " 4-byte trailer", "use more than 10")],
            id="no-room-beside-the-trailer",
        ),
        pytest.param(
            bench(("width: U32 role: LENGTH", "width: U24 role: LENGTH"),
                  ("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 16777219\n")),
            [(2, "header[0] 'length'", "a 16777219-byte frame needs a length of 16777216, more"
              " than 3 byte(s) hold", "set max_frame_size to at most 16777218")],
            id="u24-length-too-narrow",
        ),
    ],
)
def test_spec_error(text, expected):
    check_all(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(bench(("AFTER_LENGTH_FIELD\n", "PAYLOAD\nlength_adjustment: 0\n")),
                     id="payload-no-adjustment"),
        pytest.param(bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nlength_adjustment: -2\n")),
                     id="adjusted-to-zero-bias"),
        pytest.param(bench(("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 7\n")),
                     id="one-byte-payload"),
        pytest.param(bench(("width: U32 role: LENGTH", "width: U16 role: LENGTH"),
                           ("AFTER_LENGTH_FIELD\n", "AFTER_LENGTH_FIELD\nmax_frame_size: 65537\n")),
                     id="u16-length-at-limit"),
        pytest.param(bench(("AFTER_LENGTH_FIELD\n",
                            "AFTER_LENGTH_FIELD\nmax_frame_size: 2147483647\n")),
                     id="largest-max-frame-size"),
        pytest.param(bench(("width: U16 role: MESSAGE_ID", "width: U8 role: MESSAGE_ID"),
                           ("id: 2 ", "id: 255 ")),
                     id="u8-id-at-limit"),
        pytest.param(bench(("byte_order: BIG_ENDIAN\n",
                            "byte_order: BIG_ENDIAN\n"
                            "header { name: \"magic\" width: U8 role: CONSTANT value: 255 }\n"
                            "header { name: \"big\" width: U64 role: CONSTANT "
                            "value: 0xffffffffffffffff }\n"
                            "header { name: \"zero\" width: U8 role: CONSTANT }\n")),
                     id="constants-at-limit"),
        pytest.param(bench(('"bench.EchoReply"', '".bench.EchoReply"')), id="leading-dot"),
        pytest.param(bench((" sender: SERVER", " sender: BOTH")), id="sender-both"),
        pytest.param(bench(("width: U32 role: LENGTH", "width: U64 role: LENGTH"),
                           ("AFTER_LENGTH_FIELD\n", "WHOLE_FRAME\nlength_adjustment: 100\n")),
                     id="u64-length"),
        pytest.param(bench(("byte_order: BIG_ENDIAN\n", ""),
                           ("width: U32 role: LENGTH", "width: VARINT role: LENGTH"),
                           ("width: U16 role: MESSAGE_ID", "width: VARINT role: MESSAGE_ID")),
                     id="all-varint-needs-no-byte-order"),
        pytest.param(bench(("byte_order: BIG_ENDIAN\n", ""),
                           ("role: LENGTH", "role: LENGTH byte_order: LITTLE_ENDIAN"),
                           ("role: MESSAGE_ID", "role: MESSAGE_ID byte_order: BIG_ENDIAN")),
                     id="every-field-sets-its-order"),
        pytest.param(bench(("width: U32 role: LENGTH", "width: U24 role: LENGTH"),
                           ("AFTER_LENGTH_FIELD\n",
                            "AFTER_LENGTH_FIELD\nmax_frame_size: 16777218\n")),
                     id="u24-length-at-limit"),
        pytest.param(bench(("AFTER_LENGTH_FIELD\n",
                            "AFTER_LENGTH_FIELD\nchecksum { algorithm: CRC32C "
                            "covers: PAYLOAD_ONLY byte_order: LITTLE_ENDIAN }\n")),
                     id="checksum"),
    ],
)
def test_valid_spec(text):
    assert spec_errors(text) == []


def test_every_error_is_reported():
    text = """
    header { name: "length" width: U32 role: LENGTH }
    header {
      name: "length"
      role: MESSAGE_ID
    }
    header { name: "magic" width: U8 role: CONSTANT value: 0x1ff }
    message { id: 1 type: "bench.EchoRequest" sender: CLIENT }
    message {
      id: 1
      type: "bench.EchoRequest"
    }
    message { id: 3 type: "bench.Nope" sender: SERVER }
    """
    check_all(text, [
        (None, "byte_order", "the byte order is not set", "BIG_ENDIAN"),
        (None, "length_counts", "what the length field counts is not set", "PAYLOAD"),
        (2, "header[1] 'length'", "the name is also used by header[0]", "its own name"),
        (2, "header[1] 'length'", "the width is not set", "width: U8"),
        (6, "header[2] 'magic'", "constant value 0x1ff does not fit in 1 byte(s)", "0x100"),
        (8, "message[1] 'bench.EchoRequest'", "listed twice (also message[0])", "sender: BOTH"),
        (8, "message[1] 'bench.EchoRequest'", "who sends this message is not set", "CLIENT"),
        (9, "message[1] 'bench.EchoRequest'", "id 1 is also used by message[0]", "own id"),
        (12, "message[2] 'bench.Nope'", "no such message in the .proto or its imports",
         "did you mean"),
    ])


def test_spec_error_lists_every_diagnostic_on_its_own_line():
    with pytest.raises(SpecError) as caught:
        validate(load_spec(SPEC_PATH, dedent(bench(
            ("byte_order: BIG_ENDIAN\n", ""), (" sender: SERVER", "")))), {
                "bench.EchoRequest": "echo.proto", "bench.EchoReply": "echo.proto"})
    assert str(caught.value).splitlines() == [str(d) for d in caught.value.diagnostics]
    assert len(caught.value.diagnostics) == 2


def test_message_from_an_import_is_known():
    text = bench(('"bench.EchoReply"', '"google.protobuf.Empty"'))
    assert spec_errors(text, {"bench.EchoRequest": "echo.proto",
                              "google.protobuf.Empty": "google/protobuf/empty.proto"}) == []


# protobuf's delimited format: a varint length and nothing else.
DELIMITED = """
format: VARINT_DELIMITED
message { type: "bench.EchoRequest" sender: CLIENT }
message { type: "bench.EchoReply" sender: SERVER }
"""


def test_varint_delimited_spec_is_valid():
    assert spec_errors(DELIMITED) == []


def test_varint_delimited_takes_no_header_fields_or_length_settings():
    text = DELIMITED.replace("format: VARINT_DELIMITED\n",
                             "format: VARINT_DELIMITED\n"
                             "header { name: \"length\" width: U32 role: LENGTH }\n"
                             "length_counts: PAYLOAD\n")
    check_all(text, [
        (2, "header[0] 'length'",
         "a VARINT_DELIMITED frame has no header fields: the varint length is the whole header",
         "remove the header entries"),
        (3, "length_counts", "length_counts has no meaning for a VARINT_DELIMITED frame",
         "remove 'length_counts'"),
    ])


def test_varint_delimited_sends_one_message_type_per_side():
    text = DELIMITED.replace("sender: SERVER", "sender: CLIENT")
    check_all(text, [
        (3, "message[1] 'bench.EchoReply'",
         "the client already sends 'bench.EchoRequest' (message[0]), and the header has no"
         " MESSAGE_ID field to tell them apart", "oneof"),
    ])


LINES = """
format: LINE_DELIMITED
line { delimiter: "\\r\\n" max_length: 510 }
"""


def test_line_delimited_spec_is_valid():
    assert spec_errors(LINES) == []
    assert spec_errors("format: LINE_DELIMITED\n") == []  # "\n", 1024 bytes


@pytest.mark.parametrize(
    "extra, expected",
    [
        pytest.param('header { name: "length" width: U32 role: LENGTH }\n',
                     [(3, "header[0] 'length'", "a LINE_DELIMITED protocol has no header: a"
                       " delimiter ends each line", "remove the header entries")],
                     id="header"),
        pytest.param('message { id: 1 type: "bench.EchoRequest" sender: CLIENT }\n',
                     [(3, "message[0]", "a LINE_DELIMITED protocol carries text lines, not"
                       " protobuf messages; handlers receive each line in on_line()",
                       "remove the message entries")],
                     id="messages"),
        pytest.param("max_frame_size: 100\n",
                     [(3, "max_frame_size", "max_frame_size has no meaning for a LINE_DELIMITED"
                       " protocol", "line.max_length limits a line")],
                     id="max-frame-size"),
        pytest.param("checksum { algorithm: CRC32C }\n",
                     [(3, "checksum", "checksum has no meaning for a LINE_DELIMITED protocol",
                       "remove 'checksum'")],
                     id="checksum"),
    ],
)
def test_line_delimited_takes_no_frame_settings(extra, expected):
    check_all(LINES + extra, expected)


def test_line_delimiter_length():
    check_all(LINES.replace('"\\r\\n"', '"<<<<<<<<<>"'),
              [(2, "line.delimiter", "the delimiter is 10 bytes long",
                "use at most 8 bytes")])


def test_raw_spec_is_valid():
    assert spec_errors("format: RAW\n") == []


@pytest.mark.parametrize(
    "extra, expected",
    [
        pytest.param('header { name: "length" width: U32 role: LENGTH }\n',
                     [(2, "header[0] 'length'", "a RAW protocol has no header: bytes go to"
                       " on_data() as they arrive",
                       "remove the header entries, or use format: HEADER_FIELDS")],
                     id="header"),
        pytest.param('message { id: 1 type: "bench.EchoRequest" sender: CLIENT }\n',
                     [(2, "message[0]", "a RAW protocol carries bytes, not protobuf messages;"
                       " handlers receive them in on_data()", "remove the message entries")],
                     id="messages"),
        pytest.param('line { delimiter: "\\n" }\n',
                     [(2, "line", "line has no meaning for a RAW protocol",
                       "remove 'line', or use format: LINE_DELIMITED")],
                     id="line"),
        pytest.param("max_frame_size: 100\n",
                     [(2, "max_frame_size", "max_frame_size has no meaning for a RAW protocol",
                       "remove 'max_frame_size'")],
                     id="max-frame-size"),
    ],
)
def test_raw_takes_no_frame_settings(extra, expected):
    check_all("format: RAW\n" + extra, expected)


def test_line_settings_need_line_delimited():
    check_all(BENCH + 'line { delimiter: "\\n" }\n',
              [(7, "line", "'line' only describes a LINE_DELIMITED protocol",
                "remove 'line', or set 'format: LINE_DELIMITED'")])
