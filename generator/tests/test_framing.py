"""framing.load_spec(): text-format syntax errors and where each field was written."""

import pytest

from conftest import EXAMPLES, dedent
from wiregen.diagnostics import SpecError
from wiregen.framing import load_spec

FIX = "see schema/wiregen/framing.proto for every field and its type"


def syntax_error(text: str):
    with pytest.raises(SpecError) as caught:
        load_spec("bad.framing.textpb", dedent(text))
    (diagnostic,) = caught.value.diagnostics
    return diagnostic


@pytest.mark.parametrize(
    "text, line, column, message",
    [
        pytest.param(
            """
            byte_order: BIG_ENDIAN
            header { nmae: "length" }
            """,
            2, 10,
            'Message type "wiregen.spec.HeaderField" has no field named "nmae"',
            id="unknown-header-field",
        ),
        pytest.param(
            """
            byte_order: BIG_ENDIAN
            # a comment

              max_frame_sise: 10
            """,
            4, 3,
            'Message type "wiregen.spec.FramingSpec" has no field named "max_frame_sise"',
            id="unknown-top-level-field",
        ),
        pytest.param(
            """
            message {
              id: 1
              kind: "bench.EchoRequest"
            }
            """,
            3, 3,
            'Message type "wiregen.spec.MessageEntry" has no field named "kind"',
            id="unknown-message-field",
        ),
        pytest.param(
            """
            byte_order: MIDDLE_ENDIAN
            """,
            1, 13,
            'has no value named MIDDLE_ENDIAN',
            id="unknown-enum-value",
        ),
        pytest.param(
            """
            byte_order: BIG_ENDIAN
            byte_order: LITTLE_ENDIAN
            """,
            2, 13,
            'should not have multiple "byte_order" fields',
            id="singular-field-twice",
        ),
        pytest.param(
            """
            header { name: "length" width: U32
            role: LENGTH
            """,
            2, 7,
            'Expected "}"',
            id="unclosed-brace",
        ),
        pytest.param(
            """
            header { name: length }
            """,
            1, 16,
            "Expected string but found",
            id="unquoted-string",
        ),
    ],
)
def test_syntax_error_names_line_and_column(text, line, column, message):
    # The message itself is protobuf's (its wording varies between protobuf
    # versions); the location, the subject and the fix are ours.
    diagnostic = syntax_error(text)
    assert (diagnostic.path, diagnostic.line) == ("bad.framing.textpb", line)
    assert diagnostic.subject == f"column {column}"
    assert message in diagnostic.message
    assert diagnostic.fix == FIX
    rendered = str(diagnostic)
    assert rendered.startswith(f"bad.framing.textpb:{line}: column {column}: ")
    assert rendered.endswith(f" (fix: {FIX})")
    assert f"{line}:{column} :" not in rendered  # protobuf's own prefix is dropped


def test_syntax_error_in_a_value_keeps_the_parsers_text():
    diagnostic = syntax_error("max_frame_size: -1\n")
    assert (diagnostic.line, diagnostic.subject) == (1, "column 17")
    assert "Value out of range: -1" in diagnostic.message
    assert not diagnostic.message[:1].isdigit()  # protobuf's "1:17 : " prefix is dropped


def test_empty_text_is_an_empty_spec():
    loaded = load_spec("empty.framing.textpb", "")
    assert loaded.path == "empty.framing.textpb"
    assert loaded.spec.ByteSize() == 0
    assert loaded.lines == {}
    assert loaded.line_of(("header", 0)) is None


def test_parsed_values():
    loaded = load_spec("x", dedent(
        """
        byte_order: LITTLE_ENDIAN
        header { name: "magic" width: U8 role: CONSTANT value: 0x57 }
        length_adjustment: -2
        max_frame_size: 1024
        message { id: 7 type: "bench.EchoRequest" sender: BOTH }
        """
    ))
    spec = loaded.spec
    assert spec.header[0].value == 0x57
    assert spec.length_adjustment == -2
    assert spec.max_frame_size == 1024
    assert (spec.message[0].id, spec.message[0].type) == (7, "bench.EchoRequest")


LOCATED = dedent(
    """
    # A comment on line 1.
    byte_order: BIG_ENDIAN
    header { name: "length" width: U32 role: LENGTH }
    header {
      name: "type"
      width: U16
      role: MESSAGE_ID
    }
    length_counts: AFTER_LENGTH_FIELD
    length_adjustment: -1

    message { id: 1 type: "bench.EchoRequest" sender: CLIENT }
    message: <
      id: 2
      type: "bench." "EchoReply"
      sender: SERVER
    >
    message {
      type: "bench.Other"  # id left unset
    }
    """
)


@pytest.mark.parametrize(
    "path, line",
    [
        ((("byte_order", 0),), 2),
        ((("header", 0),), 3),
        ((("header", 0), ("role", 0)), 3),
        ((("header", 1),), 4),
        ((("header", 1), ("name", 0)), 5),
        ((("header", 1), ("role", 0)), 7),
        ((("length_counts", 0),), 9),
        ((("length_adjustment", 0),), 10),
        ((("message", 0),), 12),
        ((("message", 0), ("id", 0)), 12),
        ((("message", 1),), 13),
        ((("message", 1), ("id", 0)), 14),
        ((("message", 1), ("sender", 0)), 16),  # after adjacent string literals
        ((("message", 2),), 18),
        ((("message", 2), ("type", 0)), 19),
        # A field that was not written falls back to its closest written parent.
        ((("message", 2), ("id", 0)), 18),
        ((("header", 1), ("value", 0)), 4),
        # Nothing written at all.
        ((("max_frame_size", 0),), None),
        ((("message", 3), ("id", 0)), None),
    ],
)
def test_line_of(path, line):
    assert load_spec("x", LOCATED).line_of(*path) == line


@pytest.mark.parametrize(
    "text, lines",
    [
        pytest.param(
            """
            header { name: "a", width: U8; role: LENGTH },
            message { id: 1 };
            message { id: 2 }
            """,
            {
                (("header", 0),): 1,
                (("header", 0), ("name", 0)): 1,
                (("header", 0), ("width", 0)): 1,
                (("header", 0), ("role", 0)): 1,
                (("message", 0),): 2,
                (("message", 0), ("id", 0)): 2,
                (("message", 1),): 3,
                (("message", 1), ("id", 0)): 3,
            },
            id="separators",
        ),
        pytest.param(
            """
            header: [{ name: "a" },
              { name: "b" }]
            header { name: "c" }
            message: []
            """,
            {
                (("header", 0),): 1,
                (("header", 0), ("name", 0)): 1,
                (("header", 1),): 2,
                (("header", 1), ("name", 0)): 2,
                (("header", 2),): 3,
                (("header", 2), ("name", 0)): 3,
            },
            id="list-syntax",
        ),
    ],
)
def test_locations_with_other_text_format_spellings(text, lines):
    assert load_spec("x", dedent(text)).lines == lines


@pytest.mark.parametrize("name", ["echo", "chat"])
def test_examples_load(name):
    path = EXAMPLES / name / f"{name}.framing.textpb"
    loaded = load_spec(str(path), path.read_text())
    assert len(loaded.spec.message) == len(
        [key for key in loaded.lines if key[0][0] == "message" and len(key) == 1]
    )
