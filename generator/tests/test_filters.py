"""The Jinja2 filters and the naming helpers: pure formatting rules."""

import pytest

from wiregen import filters, naming
from wiregen.render import make_environment


@pytest.mark.parametrize(
    "parts, expected",
    [
        (("bench",), "namespace bench {"),
        (("demo", "echo"), "namespace demo::echo {"),
        ((), ""),
        (iter(("a", "b")), "namespace a::b {"),
    ],
)
def test_open_namespace(parts, expected):
    assert filters.open_namespace(parts) == expected


@pytest.mark.parametrize(
    "parts, expected",
    [
        (("bench",), "}  // namespace bench"),
        (("demo", "echo"), "}  // namespace demo::echo"),
        ((), ""),
    ],
)
def test_close_namespace(parts, expected):
    assert filters.close_namespace(parts) == expected


@pytest.mark.parametrize(
    "lines, prefix, expected",
    [
        (("x", "y"), None, "///   x\n///   y"),
        (("offset  size", ""), None, "///   offset  size\n///"),
        (("a",), "// ", "// a"),
        ((), None, ""),
    ],
)
def test_doc_lines(lines, prefix, expected):
    args = (lines,) if prefix is None else (lines, prefix)
    assert filters.doc_lines(*args) == expected


def test_filters_are_registered():
    environment = make_environment()
    template = environment.from_string(
        "{{ ns | open_namespace }}|{{ ns | close_namespace }}|{{ lines | doc_lines }}")
    assert template.render(ns=("a",), lines=("l",)) == "namespace a {|}  // namespace a|///   l"


@pytest.mark.parametrize(
    "name, expected",
    [("class", "class_"), ("new", "new_"), ("co_await", "co_await_"), ("xor_eq", "xor_eq_"),
     ("Class", "Class"), ("chat", "chat"), ("class_", "class_")],
)
def test_escape_keyword(name, expected):
    assert naming.escape_keyword(name) == expected


@pytest.mark.parametrize(
    "package, expected",
    [("bench", ("bench",)), ("demo.echo", ("demo", "echo")), ("", ()),
     ("net.delete.v1", ("net", "delete_", "v1"))],
)
def test_namespace_of(package, expected):
    assert naming.namespace_of(package) == expected


@pytest.mark.parametrize(
    "full_name, package, file_package, expected",
    [
        ("chat.Say", "chat", "chat", "Say"),
        ("chat.Outer.Inner", "chat", "chat", "Outer_Inner"),
        ("other.v1.Thing", "other.v1", "chat", "::other::v1::Thing"),
        ("other.Thing.Part", "other", "chat", "::other::Thing_Part"),
        ("Global", "", "", "Global"),
        ("Global", "", "chat", "::Global"),
        ("chat.Say", "chat", "", "::chat::Say"),
        ("chat.new", "chat", "chat", "new_"),
        ("my.class.Request", "my.class", "chat", "::my::class_::Request"),
    ],
)
def test_cpp_message_type(full_name, package, file_package, expected):
    assert naming.cpp_message_type(full_name, package, file_package) == expected


@pytest.mark.parametrize(
    "proto_name, stem, pb_header",
    [("chat.proto", "chat", "chat.pb.h"),
     ("dir/sub/chat.proto", "dir/sub/chat", "dir/sub/chat.pb.h"),
     ("chat", "chat", "chat.pb.h"),
     ("a.proto.proto", "a.proto", "a.proto.pb.h")],
)
def test_stem_and_pb_header(proto_name, stem, pb_header):
    assert naming.stem(proto_name) == stem
    assert naming.pb_header(proto_name) == pb_header


@pytest.mark.parametrize(
    "header_name, expected",
    [("echo.wiregen.h", "WIREGEN_GENERATED_ECHO_WIREGEN_H_"),
     ("dir/my-chat.wiregen.h", "WIREGEN_GENERATED_DIR_MY_CHAT_WIREGEN_H_"),
     ("v2/Chat.wiregen.h", "WIREGEN_GENERATED_V2_CHAT_WIREGEN_H_")],
)
def test_include_guard(header_name, expected):
    assert naming.include_guard(header_name) == expected


@pytest.mark.parametrize(
    "size, expected",
    [(1, "std::uint8_t"), (2, "std::uint16_t"), (4, "std::uint32_t"), (8, "std::uint64_t")],
)
def test_width_type(size, expected):
    assert naming.width_type(size) == expected


@pytest.mark.parametrize(
    "value, size, expected",
    [
        (0, 1, "0u"),
        (9, 2, "9u"),
        (10, 2, "0xau"),
        (0x57, 1, "0x57u"),
        (0xFFFFFFFF, 4, "0xffffffffu"),
        (0, 8, "0ull"),
        (2**64 - 1, 8, "0xffffffffffffffffull"),
    ],
)
def test_int_literal(value, size, expected):
    assert naming.int_literal(value, size) == expected


@pytest.mark.parametrize(
    "name, expected",
    [("length", True), ("_x", True), ("request_id2", True), ("", False), ("2x", False),
     ("my-len", False), ("a b", False), ("länge", False), ("x\n", False)],
)
def test_is_identifier(name, expected):
    assert naming.is_identifier(name) is expected
