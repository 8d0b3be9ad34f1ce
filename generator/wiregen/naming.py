"""C++ spellings of protobuf names and file names."""

import re
from typing import Tuple

_CPP_KEYWORDS = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char
    char8_t char16_t char32_t class compl concept const consteval constexpr constinit
    const_cast continue co_await co_return co_yield decltype default delete do double
    dynamic_cast else enum explicit export extern false float for friend goto if inline
    int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private
    protected public register reinterpret_cast requires return short signed sizeof static
    static_assert static_cast struct switch template this thread_local throw true try
    typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
    xor_eq""".split()
)

_WIDTH_TYPES = {1: "std::uint8_t", 2: "std::uint16_t", 3: "std::uint32_t", 4: "std::uint32_t",
                8: "std::uint64_t"}


def namespace_of(package: str) -> Tuple[str, ...]:
    """'demo.echo' -> ('demo', 'echo'), escaping C++ keywords as protoc does."""
    return tuple(escape_keyword(part) for part in package.split(".") if part)


def escape_keyword(name: str) -> str:
    """protoc appends an underscore to C++ keywords: 'class' -> 'class_'."""
    return name + "_" if name in _CPP_KEYWORDS else name


def cpp_message_type(full_name: str, package: str, file_package: str) -> str:
    """The C++ type protoc generates for message `full_name` in `package`.

    Nested messages are joined with '_' (Outer.Inner -> Outer_Inner). Types from
    the generated file's own package are unqualified; others are fully qualified.
    """
    local = full_name[len(package) + 1:] if package else full_name
    local = escape_keyword(local.replace(".", "_"))
    if package == file_package:
        return local
    return "::" + "::".join(namespace_of(package) + (local,))


def stem(proto_name: str) -> str:
    """'dir/chat.proto' -> 'dir/chat'."""
    return proto_name[: -len(".proto")] if proto_name.endswith(".proto") else proto_name


def pb_header(proto_name: str) -> str:
    return stem(proto_name) + ".pb.h"


def include_guard(header_name: str) -> str:
    return "WIREGEN_GENERATED_" + re.sub(r"[^A-Za-z0-9]", "_", header_name).upper() + "_"


def width_type(size: int) -> str:
    return _WIDTH_TYPES[size]


def int_literal(value: int, size: int) -> str:
    """A C++ literal of the right type for a field `size` bytes wide."""
    suffix = "ull" if size == 8 else "u"
    return f"0x{value:x}{suffix}" if value > 9 else f"{value}{suffix}"


def is_identifier(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None


def field_accessor(name: str) -> str:
    """protoc's C++ accessor for a field or oneof: lower case, keywords escaped."""
    return escape_keyword(name.lower())


def camel_case(name: str) -> str:
    """protoc's UnderscoresToCamelCase(name, true), as in oneof case constants:
    'login_request' -> 'LoginRequest', 'v2_ping' -> 'V2Ping'."""
    result, capitalize = [], True
    for char in name:
        if "a" <= char <= "z":
            result.append(char.upper() if capitalize else char)
            capitalize = False
        elif "A" <= char <= "Z":
            result.append(char)
            capitalize = False
        elif "0" <= char <= "9":
            result.append(char)
            capitalize = True
        else:
            capitalize = True
    return "".join(result)


_NAMED_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"',
                  ord("\\"): "\\\\"}


def string_literal(data: bytes) -> str:
    """A C++ string literal of `data`; other bytes as 3-digit octal escapes,
    which cannot run into a following character as hex escapes can."""
    parts = []
    for byte in data:
        if byte in _NAMED_ESCAPES:
            parts.append(_NAMED_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\{byte:03o}")
    return '"' + "".join(parts) + '"'
