"""Descriptors + a validated framing spec -> the model (every decision is here)."""

from typing import Dict, Iterable, Tuple

import framing_pb2
from google.protobuf import descriptor_pb2

from wiregen import RUNTIME_ABI, __version__, naming
from wiregen.framing import LoadedSpec
from wiregen.model import File, Framing, HeaderField, Message, Role
from wiregen.validate import WIDTH_BYTES, header_size, length_bias, max_frame_size

_ROLE_NAMES = {
    framing_pb2.LENGTH: "length",
    framing_pb2.MESSAGE_ID: "message_id",
    framing_pb2.REQUEST_ID: "request_id",
    framing_pb2.FLAGS: "flags",
    framing_pb2.CONSTANT: "constant",
    framing_pb2.RESERVED: "reserved",
}
_SENDERS = {framing_pb2.CLIENT: "client", framing_pb2.SERVER: "server", framing_pb2.BOTH: "both"}
_COUNTS = {
    framing_pb2.AFTER_LENGTH_FIELD: "the bytes after it",
    framing_pb2.PAYLOAD: "the payload",
    framing_pb2.WHOLE_FRAME: "the whole frame",
}


def message_index(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> Dict[str, Tuple[str, str]]:
    """Every message (nested ones too) by full name -> (its package, its file)."""
    index = {}

    def visit(prefix, package, file_name, descriptors):
        for descriptor in descriptors:
            full_name = f"{prefix}.{descriptor.name}" if prefix else descriptor.name
            index[full_name] = (package, file_name)
            visit(full_name, package, file_name, descriptor.nested_type)

    for proto in files:
        visit(proto.package, proto.package, proto.name, proto.message_type)
    return index


def build_file(
    proto: descriptor_pb2.FileDescriptorProto,
    loaded: LoadedSpec,
    framing_name: str,
    messages: Dict[str, Tuple[str, str]],
) -> File:
    spec = loaded.spec
    framing = _build_framing(spec)
    table = tuple(
        sorted(
            (_build_message(entry, proto.package, messages, framing) for entry in spec.message),
            key=lambda message: message.id,
        )
    )
    header_name = naming.stem(proto.name) + ".wiregen.h"
    used_files = sorted({messages[m.full_name][1] for m in table})
    return File(
        proto_name=proto.name,
        framing_name=framing_name,
        generator_version=__version__,
        runtime_abi=RUNTIME_ABI,
        header_name=header_name,
        source_name=naming.stem(proto.name) + ".wiregen.cc",
        include_guard=naming.include_guard(header_name),
        pb_headers=tuple(naming.pb_header(name) for name in used_files),
        namespace=naming.namespace_of(proto.package),
        framing=framing,
        messages=table,
        server=_build_role("server", "client", table, spec.heartbeat.lstrip("."), framing),
        client=_build_role("client", "server", table, spec.heartbeat.lstrip("."), framing),
    )


def _build_framing(spec) -> Framing:
    if spec.format == framing_pb2.VARINT_DELIMITED:
        return _build_varint_framing(spec)
    bias = length_bias(spec)
    fields = []
    offset = 0
    for field in spec.header:
        size = WIDTH_BYTES[field.width]
        role = _ROLE_NAMES[field.role]
        fields.append(
            HeaderField(
                name=field.name,
                role=role,
                offset=offset,
                size=size,
                cpp_type=naming.width_type(size),
                value=field.value,
                value_literal=naming.int_literal(field.value, size),
                encode_expression=_encode_expression(role, field.value, size),
                description=_describe(role, field.value, spec, bias),
            )
        )
        offset += size
    by_role = {field.role: field for field in fields}
    frame_max = max_frame_size(spec)
    size = header_size(spec)
    return Framing(
        format="header_fields",
        byte_order="big" if spec.byte_order == framing_pb2.BIG_ENDIAN else "little",
        fields=tuple(fields),
        header_size=size,
        length=by_role["length"],
        message_id=by_role.get("message_id"),
        id_type=by_role["message_id"].cpp_type if "message_id" in by_role else "std::uint32_t",
        request_id=by_role.get("request_id"),
        flags=by_role.get("flags"),
        constants=tuple(field for field in fields if field.role == "constant"),
        length_bias=bias,
        max_frame_size=frame_max,
        max_payload_size=frame_max - size,
        has_meta="request_id" in by_role or "flags" in by_role,
        layout_comment=_layout_comment(fields, size, spec),
    )


def _varint_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _build_varint_framing(spec) -> Framing:
    frame_max = max_frame_size(spec)
    return Framing(
        format="varint_delimited",
        byte_order="big",
        fields=(),
        header_size=5,
        length=None,
        message_id=None,
        id_type="std::uint32_t",
        request_id=None,
        flags=None,
        constants=(),
        length_bias=0,
        max_frame_size=frame_max,
        # The largest payload whose prefix still fits: prefixes only grow.
        max_payload_size=frame_max - _varint_size(frame_max),
        has_meta=False,
        layout_comment=(
            "offset  size  field    meaning",
            "0       1-5   length   base-128 varint: the payload's size",
            "1-5     n     payload  the serialized message",
        ),
    )


def _encode_expression(role: str, value: int, size: int) -> str:
    return {
        "length": "length",
        "message_id": "id",
        "request_id": "meta.request_id",
        "flags": "meta.flags",
        "constant": naming.int_literal(value, size),
        "reserved": "0",
    }[role]


def _describe(role: str, value: int, spec, bias: int) -> str:
    if role == "length":
        return f"length of {_COUNTS[spec.length_counts]}" + (
            f", {spec.length_adjustment:+d}" if spec.length_adjustment else "")
    if role == "constant":
        return f"constant {value:#x}"
    return role.replace("_", " ")


def _layout_comment(fields, size: int, spec) -> Tuple[str, ...]:
    name_width = max(len(field.name) for field in fields + [_Payload])
    lines = [f"offset  size  {'field'.ljust(name_width)}  meaning"]
    for field in fields:
        lines.append(
            f"{str(field.offset).ljust(6)}  {str(field.size).ljust(4)}  "
            f"{field.name.ljust(name_width)}  {field.description}"
        )
    lines.append(f"{str(size).ljust(6)}  {'n'.ljust(4)}  {'payload'.ljust(name_width)}  "
                 "the serialized message")
    return tuple(line.rstrip() for line in lines)


class _Payload:
    name = "payload"


def _build_message(entry, file_package: str, messages, framing: Framing) -> Message:
    full_name = entry.type.lstrip(".")
    package = messages[full_name][0]
    return Message(
        full_name=full_name,
        cpp_type=naming.cpp_message_type(full_name, package, file_package),
        id=entry.id,
        id_literal=naming.int_literal(entry.id,
                                      framing.message_id.size if framing.message_id else 4),
        sender=_SENDERS[entry.sender],
    )


def _build_role(name: str, peer: str, table: Tuple[Message, ...], heartbeat: str,
                framing: Framing) -> Role:
    outgoing = tuple(m for m in table if m.sender in (name, "both"))
    incoming = tuple(m for m in table if m.sender in (peer, "both"))
    return Role(
        name=name,
        handler=f"{name}_handler",
        session=f"{name}_session",
        dispatcher=f"{name}_dispatcher",
        endpoint=name,
        runtime_endpoint=f"wiregen::{name}",
        runtime_options=f"wiregen::{name}_options",
        peer=peer,
        incoming=incoming,
        outgoing=outgoing,
        unexpected=tuple(m for m in table if m.sender == name),
        heartbeat=next((m for m in outgoing if m.full_name == heartbeat), None),
        # Validation allows at most one per side when frames carry no id.
        only_incoming=incoming[0] if framing.message_id is None and incoming else None,
    )
