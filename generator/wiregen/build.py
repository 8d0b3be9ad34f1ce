"""Descriptors + a validated framing spec -> the model (every decision is here)."""

from typing import Dict, Iterable, Optional, Tuple

import framing_pb2
from google.protobuf import descriptor_pb2

from wiregen import RUNTIME_ABI, __version__, naming
from wiregen.framing import LoadedSpec
from wiregen.model import (Envelope, File, Framing, HeaderField, Incoming, LineFormat, Message,
                           Role, Rpc, Trailer)
from wiregen.validate import (DEFAULT_MAX_LINE_LENGTH, HEADER_ROLES, VARINT_LENGTH_MAX_BYTES,
                              VARINT_MAX_BYTES, WIDTH_BYTES, envelope_oneof, header_size,
                              is_variable, is_varint, length_bias, max_frame_size,
                              max_header_size, trailer_size)

_ORDERS = {framing_pb2.BIG_ENDIAN: "big", framing_pb2.LITTLE_ENDIAN: "little"}
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


def message_descriptors(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> Dict[str, descriptor_pb2.DescriptorProto]:
    """Every message (nested ones too) by full name -> its descriptor."""
    index = {}

    def visit(prefix, descriptors):
        for descriptor in descriptors:
            full_name = f"{prefix}.{descriptor.name}" if prefix else descriptor.name
            index[full_name] = descriptor
            visit(full_name, descriptor.nested_type)

    for proto in files:
        visit(proto.package, proto.message_type)
    return index


def build_file(
    proto: descriptor_pb2.FileDescriptorProto,
    loaded: LoadedSpec,
    framing_name: str,
    messages: Dict[str, Tuple[str, str]],
    descriptors: Dict[str, descriptor_pb2.DescriptorProto] = None,
) -> File:
    spec = loaded.spec
    envelope = _build_envelope(spec, proto.package, messages, descriptors or {})
    framing = _build_framing(spec, envelope)
    table = tuple(
        sorted(
            (_build_message(entry, proto.package, messages, framing, descriptors or {})
             for entry in spec.message),
            key=lambda message: message.id,
        )
    )
    by_name = {message.full_name: message for message in table}
    rpcs = _build_rpcs(proto, by_name)
    rpc_error = by_name.get(spec.rpc.error.lstrip(".")) if spec.rpc.error else None
    header_name = naming.stem(proto.name) + ".wiregen.h"
    used_files = sorted({messages[m.full_name][1] for m in table} |
                        ({messages[envelope.full_name][1]} if envelope else set()))
    return File(
        proto_name=proto.name,
        framing_name=framing_name,
        generator_version=__version__,
        runtime_abi=RUNTIME_ABI,
        header_name=header_name,
        source_name=naming.stem(proto.name) + ".wiregen.cc",
        fuzz_source_name=naming.stem(proto.name) + ".wiregen.fuzz.cc",
        include_guard=naming.include_guard(header_name),
        pb_headers=tuple(naming.pb_header(name) for name in used_files),
        namespace=naming.namespace_of(proto.package),
        framing=framing,
        messages=table,
        server=_build_role("server", "client", table, spec.heartbeat.lstrip("."), framing, rpcs,
                           rpc_error),
        client=_build_role("client", "server", table, spec.heartbeat.lstrip("."), framing, rpcs,
                           rpc_error),
        rpcs=rpcs,
        rpc_error=rpc_error,
        correlation="request_id" if framing.request_id else "in_order",
        ids_on_wire=framing.message_id is not None and framing.envelope is None,
        max_request_id=_max_request_id(framing),
    )


def _max_request_id(framing: Framing) -> str:
    field = framing.request_id
    if field is None or field.varint or field.size == 8:
        return "~std::uint64_t{0}"
    return naming.int_literal((1 << (8 * field.size)) - 1, 8)


def _build_rpcs(proto, by_name) -> Tuple[Rpc, ...]:
    """The unary rpcs of the file's services, in declaration order."""
    methods = [(service, method)
               for service in proto.service for method in service.method]
    return tuple(
        Rpc(service=service.name, name=naming.escape_keyword(method.name),
            request=by_name[method.input_type.lstrip(".")],
            reply=by_name[method.output_type.lstrip(".")], index=index)
        for index, (service, method) in enumerate(methods)
    )


def _build_envelope(spec, file_package: str, messages, descriptors):
    if not spec.envelope:
        return None
    full_name = spec.envelope.lstrip(".")
    oneof, _ = envelope_oneof(descriptors[full_name])
    return Envelope(
        full_name=full_name,
        cpp_type=naming.cpp_message_type(full_name, messages[full_name][0], file_package),
        case_accessor=oneof + "_case",  # protoc keeps the oneof name as written
    )


def _build_framing(spec, envelope=None) -> Framing:
    if spec.format == framing_pb2.LINE_DELIMITED:
        return _build_line_framing(spec)
    if spec.format == framing_pb2.RAW:
        return _build_raw_framing()
    if spec.format == framing_pb2.VARINT_DELIMITED:
        return _build_varint_framing(spec, envelope)
    return _build_header_framing(spec, "header_fields", envelope)


def _build_header_framing(spec, format_name: str, envelope=None) -> Framing:
    bias = length_bias(spec)
    default_order = _ORDERS.get(spec.byte_order, "big")
    frame_max = max_frame_size(spec)
    fields = []
    offset = 0
    for field in spec.header:
        role = HEADER_ROLES[field.role].name
        varint = is_varint(field)
        # A varint is read up to its format's limit (protobuf pads varints
        # now and then) but written no longer than its largest value needs
        # (max_header_size).
        size = _varint_limit(role) if varint else WIDTH_BYTES[field.width]
        encode = _encode_expression(role, field.value, size)
        fields.append(
            HeaderField(
                name=field.name,
                role=role,
                offset=offset,
                size=size,
                varint=varint,
                byte_order=_ORDERS.get(field.byte_order, default_order),
                cpp_type="std::uint64_t" if varint else naming.width_type(size),
                value=field.value,
                value_literal=naming.int_literal(field.value, size),
                encode_expression=encode,
                size_expression=f"wiregen::varint::size_of({encode})" if varint else str(size),
                too_long_error="malformed_length_prefix" if role == "length" else
                "malformed_varint",
                description=_describe(role, field.value, spec, bias, varint),
            )
        )
        offset = None if varint or offset is None else offset + size
    variable = is_variable(spec)
    by_role = {field.role: field for field in fields}
    trailer = _build_trailer(spec, default_order)
    trailer_bytes = trailer.size if trailer else 0
    min_size = header_size(spec)
    return Framing(
        format=format_name,
        byte_order=default_order,
        fields=tuple(fields),
        variable=variable,
        header_size=min_size,
        max_header_size=max_header_size(spec),
        length=by_role["length"],
        length_value_expression=_length_value(spec, fields, trailer_bytes),
        length_overhead_expression=_length_overhead(spec, trailer_bytes),
        needs_length_end=spec.length_counts == framing_pb2.AFTER_LENGTH_FIELD,
        trailer=trailer,
        message_id=by_role.get("message_id"),
        id_type=by_role["message_id"].cpp_type if "message_id" in by_role else "std::uint32_t",
        request_id=by_role.get("request_id"),
        flags=by_role.get("flags"),
        constants=tuple(field for field in fields if field.role == "constant"),
        length_bias=bias,
        max_frame_size=frame_max,
        # The largest payload every header can carry: sends never make a
        # frame that the peer's limit refuses.
        max_payload_size=frame_max - max_header_size(spec) - trailer_bytes,
        has_meta="request_id" in by_role or "flags" in by_role,
        envelope=envelope,
        line=None,
        layout_comment=_layout_comment(fields, trailer, spec),
    )


def _build_line_framing(spec) -> Framing:
    delimiter = (spec.line.delimiter or "\n").encode("utf-8")
    max_length = spec.line.max_length or DEFAULT_MAX_LINE_LENGTH
    literal = naming.string_literal(delimiter)
    return Framing(
        format="line_delimited", byte_order="big", fields=(), variable=False, header_size=0,
        max_header_size=0, length=None, length_value_expression="",
        length_overhead_expression=None, needs_length_end=False, trailer=None, message_id=None,
        id_type="std::uint32_t", request_id=None, flags=None, constants=(), length_bias=0,
        max_frame_size=max_length + len(delimiter), max_payload_size=max_length,
        has_meta=False, envelope=None,
        line=LineFormat(delimiter_literal=literal, delimiter_size=len(delimiter),
                        max_length=max_length),
        layout_comment=(f"a line of at most {max_length} bytes, then {literal}",),
    )


def _build_raw_framing() -> Framing:
    return Framing(
        format="raw", byte_order="big", fields=(), variable=False, header_size=0,
        max_header_size=0, length=None, length_value_expression="",
        length_overhead_expression=None, needs_length_end=False, trailer=None, message_id=None,
        id_type="std::uint32_t", request_id=None, flags=None, constants=(), length_bias=0,
        max_frame_size=0, max_payload_size=0, has_meta=False, envelope=None, line=None,
        layout_comment=("bytes as they arrive, without framing",), raw=True,
    )


def _varint_limit(role: str) -> int:
    return VARINT_LENGTH_MAX_BYTES if role == "length" else VARINT_MAX_BYTES


def _build_trailer(spec, default_order: str):
    if spec.checksum.algorithm == framing_pb2.CHECKSUM_NONE:
        return None
    return Trailer(
        size=trailer_size(spec),
        algorithm="crc32c",
        covers_header=spec.checksum.covers == framing_pb2.HEADER_AND_PAYLOAD,
        byte_order=_ORDERS.get(spec.checksum.byte_order, default_order),
    )


def _length_value(spec, fields, trailer_bytes: int) -> str:
    """C++ for the LENGTH value of a frame (variable headers)."""
    terms = ["payload_size"]
    if spec.length_counts == framing_pb2.AFTER_LENGTH_FIELD:
        after = fields[[f.role for f in fields].index("length") + 1:]
        terms += [field.size_expression for field in after]
    elif spec.length_counts == framing_pb2.WHOLE_FRAME:
        # Validation keeps the length itself fixed-width here.
        terms += [field.size_expression for field in fields]
    if spec.length_counts != framing_pb2.PAYLOAD and trailer_bytes:
        terms.append(str(trailer_bytes))
    return _sum(terms, spec.length_adjustment)


def _length_overhead(spec, trailer_bytes: int) -> Optional[str]:
    """C++ for the bytes a LENGTH counts beside the payload (variable headers)."""
    terms = {
        framing_pb2.AFTER_LENGTH_FIELD: ["(reader.position() - length_end)"],
        framing_pb2.PAYLOAD: [],
        framing_pb2.WHOLE_FRAME: ["reader.position()"],
    }[spec.length_counts]
    if spec.length_counts != framing_pb2.PAYLOAD and trailer_bytes:
        terms.append(str(trailer_bytes))
    if not terms and not spec.length_adjustment:
        return None  # the length is the payload's size
    return _sum(terms or ["0"], spec.length_adjustment)


def _sum(terms, adjustment: int) -> str:
    text = " + ".join(terms)
    if adjustment > 0:
        text += f" + {adjustment}"
    elif adjustment < 0:
        text += f" - {-adjustment}"
    return text


def _build_varint_framing(spec, envelope) -> Framing:
    """protobuf's delimited format is the header [length: VARINT] counting
    the payload."""
    delimited = framing_pb2.FramingSpec()
    delimited.CopyFrom(spec)
    delimited.header.add(name="length", width=framing_pb2.VARINT, role=framing_pb2.LENGTH)
    delimited.length_counts = framing_pb2.PAYLOAD
    return _build_header_framing(delimited, "varint_delimited", envelope)


def _encode_expression(role: str, value: int, size: int) -> str:
    return {
        "length": "length",
        "message_id": "id",
        "request_id": "meta.request_id",
        "flags": "meta.flags",
        "constant": naming.int_literal(value, size),
        "reserved": "0",
    }[role]


def _describe(role: str, value: int, spec, bias: int, varint: bool) -> str:
    kind = "varint " if varint else ""
    if role == "length":
        return f"{kind}length of {_COUNTS[spec.length_counts]}" + (
            f", {spec.length_adjustment:+d}" if spec.length_adjustment else "")
    if role == "constant":
        return f"constant {value:#x}"
    return kind + role.replace("_", " ")


def _layout_comment(fields, trailer, spec) -> Tuple[str, ...]:
    """A table of the layout: offsets while they are fixed, "+" after a varint."""
    rows = []
    offset = 0
    for field in fields:
        size = "var" if field.varint else str(field.size)
        order = f", {field.byte_order}-endian" if field.size > 1 and not field.varint and \
            field.byte_order != _ORDERS.get(spec.byte_order, "big") else ""
        rows.append((_offset(offset), size, field.name, field.description + order))
        offset = None if field.varint or offset is None else offset + field.size
    rows.append((_offset(offset), "n", "payload", "the serialized message"))
    if trailer:
        covered = "header and payload" if trailer.covers_header else "payload"
        rows.append(("+", str(trailer.size), "checksum",
                     f"{trailer.algorithm.upper()} of the {covered}, {trailer.byte_order}-endian"))
    name_width = max(len(row[2]) for row in rows + [("", "", "field", "")])
    size_width = max(len(row[1]) for row in rows + [("", "size", "", "")])
    lines = [f"{'offset'.ljust(6)}  {'size'.ljust(size_width)}  {'field'.ljust(name_width)}"
             "  meaning"]
    for where, size, name, meaning in rows:
        lines.append(f"{where.ljust(6)}  {size.ljust(size_width)}  {name.ljust(name_width)}  "
                     f"{meaning}")
    return tuple(line.rstrip() for line in lines)


def _offset(offset) -> str:
    return "+" if offset is None else str(offset)


def _build_message(entry, file_package: str, messages, framing: Framing,
                   descriptors) -> Message:
    full_name = entry.type.lstrip(".")
    package = messages[full_name][0]
    message_id, case, accessor = entry.id, None, None
    if framing.envelope:
        # The oneof field says which message a frame is: its number is the id.
        _, members = envelope_oneof(descriptors[framing.envelope.full_name])
        field = next(f for f in members if f.type_name.lstrip(".") == full_name)
        message_id = field.number
        case = f"{framing.envelope.cpp_type}::k{naming.camel_case(field.name)}"
        accessor = naming.field_accessor(field.name)
    return Message(
        full_name=full_name,
        cpp_type=naming.cpp_message_type(full_name, package, file_package),
        id=message_id,
        id_literal=naming.int_literal(message_id, _id_literal_width(framing)),
        sender=_SENDERS[entry.sender],
        envelope_case=case,
        envelope_accessor=accessor,
    )


def _id_literal_width(framing: Framing) -> int:
    if framing.message_id is None:
        return 4
    return 8 if framing.message_id.varint else framing.message_id.size


def _build_role(name: str, peer: str, table: Tuple[Message, ...], heartbeat: str,
                framing: Framing, rpcs: Tuple[Rpc, ...], rpc_error) -> Role:
    outgoing = tuple(m for m in table if m.sender in (name, "both"))
    incoming = tuple(m for m in table if m.sender in (peer, "both"))
    served = {rpc.request.full_name: rpc for rpc in rpcs} if name == "server" else {}
    answers = {rpc.reply.full_name for rpc in rpcs} if name == "client" else set()
    if rpc_error is not None and name == "client":
        answers.add(rpc_error.full_name)
    handlers = tuple(
        Incoming(message=m, rpc=served.get(m.full_name), completes_call=m.full_name in answers,
                 is_status=rpc_error is not None and m.full_name == rpc_error.full_name)
        for m in incoming)
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
        handlers=handlers,
        # Validation allows at most one per side when frames carry no id.
        only_incoming=incoming[0] if framing.message_id is None and not framing.envelope
        and incoming else None,
    )
