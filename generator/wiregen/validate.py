"""Check a loaded framing spec against itself and the .proto descriptors.

Every check runs before anything is rendered, and every problem is reported
(not just the first) with the spec's file, the line of the entry and a fix.
"""

import difflib
from dataclasses import dataclass
from typing import Dict

import framing_pb2
from google.protobuf import descriptor_pb2

from wiregen import naming
from wiregen.diagnostics import DiagnosticSink
from wiregen.framing import LoadedSpec

# Fixed widths; a VARINT field takes 1 to VARINT_MAX_BYTES bytes.
WIDTH_BYTES = {framing_pb2.U8: 1, framing_pb2.U16: 2, framing_pb2.U24: 3, framing_pb2.U32: 4,
               framing_pb2.U64: 8}
VARINT_MAX_BYTES = 10
# A varint length never needs more: frames stay below 2 GiB.
VARINT_LENGTH_MAX_BYTES = 5
CHECKSUM_BYTES = {framing_pb2.CRC32C: 4}
DEFAULT_MAX_FRAME_SIZE = 1024 * 1024
# protobuf cannot serialize or parse a message of 2 GiB or more.
LARGEST_MAX_FRAME_SIZE = 2**31 - 1


@dataclass(frozen=True)
class HeaderRole:
    """What a header field's role means to the validator and the model."""

    name: str  # in the model: length, message_id, ...
    title: str  # in messages: "message id"
    single: bool  # at most one field of this role
    required: bool


# The one table of header field roles.
HEADER_ROLES = {
    framing_pb2.LENGTH: HeaderRole("length", "length", single=True, required=True),
    # Optional: without it each side sends a single message type.
    framing_pb2.MESSAGE_ID: HeaderRole("message_id", "message id", single=True, required=False),
    framing_pb2.REQUEST_ID: HeaderRole("request_id", "request id", single=True, required=False),
    framing_pb2.FLAGS: HeaderRole("flags", "flags", single=True, required=False),
    framing_pb2.CONSTANT: HeaderRole("constant", "constant", single=False, required=False),
    framing_pb2.RESERVED: HeaderRole("reserved", "reserved", single=False, required=False),
}


def is_varint(field) -> bool:
    return field.width == framing_pb2.VARINT


def is_variable(spec) -> bool:
    """Whether some header field is a varint, so offsets are not fixed."""
    return any(is_varint(field) for field in spec.header)


def header_size(spec) -> int:
    """The header's size; for a variable header, its smallest size."""
    return sum(1 if is_varint(field) else WIDTH_BYTES.get(field.width, 0)
               for field in spec.header)


def varint_size(value: int) -> int:
    """The bytes a varint of `value` takes."""
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def largest_length(spec) -> int:
    """The largest value the LENGTH field carries: whatever it counts stays
    within the frame, and a positive length_adjustment adds to it."""
    return max_frame_size(spec) + max(spec.length_adjustment, 0)


def max_header_size(spec) -> int:
    """The header's size with every varint field at its longest: the length
    and message id as their largest values need, other varints 10 bytes."""
    largest_id = max((entry.id for entry in spec.message), default=0)
    size = 0
    for field in spec.header:
        if not is_varint(field):
            size += WIDTH_BYTES.get(field.width, 0)
        elif field.role == framing_pb2.LENGTH:
            size += varint_size(largest_length(spec))
        elif field.role == framing_pb2.MESSAGE_ID:
            size += varint_size(largest_id)
        else:
            size += VARINT_MAX_BYTES
    return size


def trailer_size(spec) -> int:
    return CHECKSUM_BYTES.get(spec.checksum.algorithm, 0)


def length_bias(spec) -> int:
    """The length value of a frame with an empty payload (for a variable
    header, with every varint field one byte long)."""
    offset, counted = 0, 0
    for field in spec.header:
        offset += 1 if is_varint(field) else WIDTH_BYTES.get(field.width, 0)
        if field.role == framing_pb2.LENGTH:
            counted = {
                framing_pb2.AFTER_LENGTH_FIELD: header_size(spec) - offset + trailer_size(spec),
                framing_pb2.PAYLOAD: 0,
                framing_pb2.WHOLE_FRAME: header_size(spec) + trailer_size(spec),
            }.get(spec.length_counts, 0)
    return counted + spec.length_adjustment


def max_frame_size(spec) -> int:
    return spec.max_frame_size or DEFAULT_MAX_FRAME_SIZE


def validate(loaded: LoadedSpec, messages: Dict[str, str], descriptors=None) -> None:
    """Raise SpecError listing every problem; `messages` maps full name -> file,
    `descriptors` (optional) full name -> DescriptorProto, for the envelope."""
    sink = DiagnosticSink(loaded.path)
    if loaded.spec.format == framing_pb2.LINE_DELIMITED:
        _check_line_delimited(loaded, sink)
        sink.raise_if_any()
        return
    if loaded.spec.format == framing_pb2.RAW:
        _check_raw(loaded, sink)
        sink.raise_if_any()
        return
    if loaded.spec.HasField("line"):
        sink.error(loaded.line_of(("line", 0)), "line",
                   "'line' only describes a LINE_DELIMITED protocol",
                   "remove 'line', or set 'format: LINE_DELIMITED'")
    if loaded.spec.envelope:
        _check_envelope(loaded, messages, descriptors or {}, sink)
    if loaded.spec.format == framing_pb2.VARINT_DELIMITED:
        _check_varint_delimited(loaded, sink)
        _check_messages(loaded, messages, sink)
        sink.raise_if_any()
        return
    _check_top_level(loaded, sink)
    header_problems = len(sink.diagnostics)
    _check_header(loaded, sink)
    # The length checks need a well-formed header and a known length_counts.
    if len(sink.diagnostics) == header_problems and loaded.spec.length_counts:
        _check_length(loaded, sink)
    _check_messages(loaded, messages, sink)
    sink.raise_if_any()


def _check_varint_delimited(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    """protobuf's delimited format: a varint length is the whole header."""
    spec = loaded.spec
    for index, field in enumerate(spec.header):
        sink.error(loaded.line_of(("header", index)), f"header[{index}] '{field.name}'",
                   "a VARINT_DELIMITED frame has no header fields: the varint length is the"
                   " whole header", "remove the header entries, or use format: HEADER_FIELDS")
    _reject_settings(loaded, sink, "a VARINT_DELIMITED frame",
                     ("length_counts", "length_adjustment", "byte_order", "checksum"))
    _check_size_and_table(loaded, sink, example_entry='type: "pkg.Request" sender: CLIENT')


def _needs_byte_order(spec) -> bool:
    """Whether some multi-byte value takes the spec's byte order."""
    unset = framing_pb2.BYTE_ORDER_UNSPECIFIED
    fields = any(WIDTH_BYTES.get(field.width, 0) > 1 and field.byte_order == unset
                 for field in spec.header)
    return fields or (trailer_size(spec) > 0 and spec.checksum.byte_order == unset)


def _reject_settings(loaded: LoadedSpec, sink: DiagnosticSink, what: str, names,
                     fixes=None) -> None:
    """An error for each of `names` the spec sets, which `what` has no use for."""
    spec = loaded.spec
    for name in names:
        field = spec.DESCRIPTOR.fields_by_name[name]
        is_set = spec.HasField(name) if field.message_type else bool(getattr(spec, name))
        if is_set:
            sink.error(loaded.line_of((name, 0)), name, f"{name} has no meaning for {what}",
                       (fixes or {}).get(name, f"remove '{name}'"))


def _check_raw(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    """Raw bytes: nothing to set."""
    spec = loaded.spec
    for index, field in enumerate(spec.header):
        sink.error(loaded.line_of(("header", index)), f"header[{index}] '{field.name}'",
                   "a RAW protocol has no header: bytes go to on_data() as they arrive",
                   "remove the header entries, or use format: HEADER_FIELDS")
    for index, entry in enumerate(spec.message):
        sink.error(loaded.line_of(("message", index)), f"message[{index}]",
                   "a RAW protocol carries bytes, not protobuf messages;"
                   " handlers receive them in on_data()", "remove the message entries")
    _reject_settings(loaded, sink, "a RAW protocol",
                     ("byte_order", "length_counts", "length_adjustment", "max_frame_size",
                      "heartbeat", "envelope", "checksum", "rpc", "line"),
                     {"line": "remove 'line', or use format: LINE_DELIMITED"})


MAX_DELIMITER_BYTES = 8
DEFAULT_MAX_LINE_LENGTH = 1024


def _check_line_delimited(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    """Text lines: a delimiter and a length limit, nothing else."""
    spec = loaded.spec
    for index, field in enumerate(spec.header):
        sink.error(loaded.line_of(("header", index)), f"header[{index}] '{field.name}'",
                   "a LINE_DELIMITED protocol has no header: a delimiter ends each line",
                   "remove the header entries")
    for index, entry in enumerate(spec.message):
        sink.error(loaded.line_of(("message", index)), f"message[{index}]",
                   "a LINE_DELIMITED protocol carries text lines, not protobuf messages;"
                   " handlers receive each line in on_line()", "remove the message entries")
    _reject_settings(loaded, sink, "a LINE_DELIMITED protocol",
                     ("byte_order", "length_counts", "length_adjustment", "max_frame_size",
                      "heartbeat", "envelope", "checksum", "rpc"),
                     {"max_frame_size": "remove 'max_frame_size' (line.max_length limits a line)"})
    delimiter = spec.line.delimiter.encode("utf-8")
    if len(delimiter) > MAX_DELIMITER_BYTES:
        sink.error(loaded.line_of(("line", 0), ("delimiter", 0)), "line.delimiter",
                   f"the delimiter is {len(delimiter)} bytes long",
                   f"use at most {MAX_DELIMITER_BYTES} bytes, such as \"\\n\" or \"\\r\\n\"")
    if spec.line.max_length > LARGEST_MAX_FRAME_SIZE - MAX_DELIMITER_BYTES:
        sink.error(loaded.line_of(("line", 0), ("max_length", 0)), "line.max_length",
                   f"{spec.line.max_length} bytes is more than a connection buffers",
                   f"use at most {LARGEST_MAX_FRAME_SIZE - MAX_DELIMITER_BYTES}")


def _check_top_level(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    spec = loaded.spec
    if spec.byte_order == framing_pb2.BYTE_ORDER_UNSPECIFIED and _needs_byte_order(spec):
        sink.error(None, "byte_order", "the byte order is not set",
                   "add 'byte_order: BIG_ENDIAN' or 'byte_order: LITTLE_ENDIAN'")
    if spec.HasField("checksum") and spec.checksum.algorithm == framing_pb2.CHECKSUM_NONE:
        sink.error(loaded.line_of(("checksum", 0)), "checksum", "the checksum has no algorithm",
                   "add 'algorithm: CRC32C' inside checksum { }, or remove the checksum")
    if spec.length_counts == framing_pb2.LENGTH_COUNTS_UNSPECIFIED:
        sink.error(None, "length_counts", "what the length field counts is not set",
                   "add 'length_counts: AFTER_LENGTH_FIELD', 'PAYLOAD' or 'WHOLE_FRAME'")
    _check_size_and_table(loaded, sink,
                          example_entry='id: 1 type: "pkg.Request" sender: CLIENT')


def _check_size_and_table(loaded: LoadedSpec, sink: DiagnosticSink, example_entry: str) -> None:
    """What every format needs: a frame size protobuf can parse, messages."""
    spec = loaded.spec
    if spec.max_frame_size > LARGEST_MAX_FRAME_SIZE:
        sink.error(loaded.line_of(("max_frame_size", 0)), "max_frame_size",
                   f"{spec.max_frame_size} is larger than protobuf can parse",
                   f"use at most {LARGEST_MAX_FRAME_SIZE}")
    if not spec.message:
        sink.error(None, "message", "the message table is empty",
                   f"add entries like 'message {{ {example_entry} }}'")


def _check_header(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    spec = loaded.spec
    if not spec.header:
        sink.error(None, "header", "the header has no fields",
                   "add at least a LENGTH field (and a MESSAGE_ID field for several messages)")
        return
    seen_names = {}
    seen_roles = {}
    for index, field in enumerate(spec.header):
        line = loaded.line_of(("header", index))
        subject = f"header[{index}] '{field.name}'"
        if not naming.is_identifier(field.name):
            sink.error(line, subject, "a header field needs a name that is a C++ identifier",
                       "set name: \"length\" (letters, digits, underscores)")
        elif field.name in seen_names:
            sink.error(line, subject, f"the name is also used by header[{seen_names[field.name]}]",
                       "give every header field its own name")
        else:
            seen_names[field.name] = index
        if field.width not in WIDTH_BYTES and not is_varint(field):
            sink.error(line, subject, "the width is not set",
                       "add 'width: U8', U16, U24, U32, U64 or VARINT")
        if is_varint(field) and field.role in (framing_pb2.CONSTANT, framing_pb2.RESERVED):
            sink.error(line, subject, f"a {framing_pb2.Role.Name(field.role)} field needs a"
                       " fixed width", "use width U8, U16, U24, U32 or U64")
        if field.byte_order != framing_pb2.BYTE_ORDER_UNSPECIFIED and \
                WIDTH_BYTES.get(field.width, 0) <= 1:
            sink.error(loaded.line_of(("header", index), ("byte_order", 0)), subject,
                       "a single byte or a varint has no byte order", "remove 'byte_order'")
        if field.role == framing_pb2.ROLE_UNSPECIFIED:
            sink.error(line, subject, "the role is not set",
                       "add 'role: LENGTH', MESSAGE_ID, REQUEST_ID, FLAGS, CONSTANT or RESERVED")
        role = HEADER_ROLES.get(field.role)
        if role and role.single and field.role in seen_roles:
            what = role.title
            sink.error(line, subject, f"a second {what} field (the first is "
                       f"header[{seen_roles[field.role]}])", f"keep one {what} field")
        seen_roles.setdefault(field.role, index)
        width = WIDTH_BYTES.get(field.width)
        if field.role == framing_pb2.CONSTANT:
            if width and field.value >= 1 << (8 * width):
                sink.error(loaded.line_of(("header", index), ("value", 0)), subject,
                           f"constant value {field.value:#x} does not fit in {width} byte(s)",
                           f"use a value below {1 << (8 * width):#x} or a wider field")
        elif field.value:
            sink.error(loaded.line_of(("header", index), ("value", 0)), subject,
                       "only CONSTANT fields take a value",
                       "remove 'value' or make the role CONSTANT")
    for number, role in HEADER_ROLES.items():
        if role.required and number not in seen_roles:
            sink.error(loaded.line_of(("header", 0)), "header", f"no {role.title} field",
                       f"add 'header {{ name: \"...\" width: U32 role: "
                       f"{framing_pb2.Role.Name(number)} }}'")


def _check_length(loaded: LoadedSpec, sink: DiagnosticSink) -> None:
    spec = loaded.spec
    bias = length_bias(spec)
    length_index = next(i for i, f in enumerate(spec.header) if f.role == framing_pb2.LENGTH)
    length_field = spec.header[length_index]
    if is_varint(length_field) and spec.length_counts == framing_pb2.WHOLE_FRAME:
        sink.error(loaded.line_of(("length_counts", 0)), "length_counts",
                   "a VARINT length cannot count the whole frame: its own size would depend"
                   " on its value", "count AFTER_LENGTH_FIELD or PAYLOAD, or give the length"
                   " a fixed width")
        return
    size = header_size(spec) + trailer_size(spec)
    frame_max = max_frame_size(spec)
    if bias < 0:
        sink.error(loaded.line_of(("length_adjustment", 0)), "length_adjustment",
                   f"an empty frame would have the negative length {bias}",
                   f"use a length_adjustment of at least {spec.length_adjustment - bias}")
        return
    if frame_max <= size and spec.max_frame_size:
        sink.error(loaded.line_of(("max_frame_size", 0)), "max_frame_size",
                   f"{frame_max} leaves no room for a payload after the {_overhead_text(spec)}",
                   f"use more than {size}")
        return
    largest_header = max_header_size(spec) + trailer_size(spec)
    if frame_max <= largest_header and spec.max_frame_size:
        sink.error(loaded.line_of(("max_frame_size", 0)), "max_frame_size",
                   f"{frame_max} leaves no room for a payload after the longest header"
                   f" ({_overhead_text(spec, largest_header - trailer_size(spec))},"
                   " its varints at their longest)", f"use more than {largest_header}")
        return
    if is_varint(length_field):
        if largest_length(spec) >= 1 << (7 * VARINT_LENGTH_MAX_BYTES):
            room = (1 << (7 * VARINT_LENGTH_MAX_BYTES)) - 1 - frame_max
            sink.error(loaded.line_of(("length_adjustment", 0)), "length_adjustment",
                       f"a {frame_max}-byte frame needs a length of {largest_length(spec)},"
                       f" more than a {VARINT_LENGTH_MAX_BYTES}-byte varint holds",
                       f"use a length_adjustment of at most {room}")
        return
    length_width = WIDTH_BYTES[length_field.width]
    # A variable header's counted bytes grow with its varints; the frame's
    # size bounds them all.
    needed = frame_max - size + bias if not is_variable(spec) else largest_length(spec)
    if needed >= 1 << (8 * length_width):
        field = length_field
        fitting = (1 << (8 * length_width)) - 1 - (needed - frame_max)
        sink.error(loaded.line_of(("header", length_index)), f"header[{length_index}] "
                   f"'{field.name}'", f"a {frame_max}-byte frame needs a length of "
                   f"{needed}, more than {length_width} byte(s) hold",
                   f"set max_frame_size to at most {fitting} or widen the length field")


def _overhead_text(spec, header=None) -> str:
    text = f"{header_size(spec) if header is None else header}-byte header"
    return text + (f" and {trailer_size(spec)}-byte trailer" if trailer_size(spec) else "")


def _check_messages(loaded: LoadedSpec, messages: Dict[str, str], sink: DiagnosticSink) -> None:
    spec = loaded.spec
    id_field = next((f for f in spec.header if f.role == framing_pb2.MESSAGE_ID), None)
    id_width = WIDTH_BYTES.get(id_field.width) if id_field else None  # None: varint
    ids, types = {}, {}
    sends = {}  # without a message id: side -> the first entry it sends
    for index, entry in enumerate(spec.message):
        line = loaded.line_of(("message", index))
        name = entry.type.lstrip(".")
        subject = f"message[{index}] '{name}'"
        if not name:
            sink.error(line, f"message[{index}]", "the entry names no message",
                       "add 'type: \"package.Message\"'")
        elif name not in messages:
            close = difflib.get_close_matches(name, messages, n=1)
            fix = f"did you mean '{close[0]}'?" if close else \
                "use the fully qualified name, package included, of a message in the .proto"
            sink.error(line, subject, "no such message in the .proto or its imports", fix)
        elif name in types:
            sink.error(line, subject, f"listed twice (also message[{types[name]}])",
                       "list every message once; use sender: BOTH if both sides send it")
        else:
            types[name] = index
        if entry.sender == framing_pb2.SENDER_UNSPECIFIED:
            sink.error(line, subject, "who sends this message is not set",
                       "add 'sender: CLIENT', 'sender: SERVER' or 'sender: BOTH'")
        if spec.envelope:
            continue  # _check_envelope checks the ids against the oneof
        if id_field is None:
            # Nothing on the wire says which message a frame is: each side
            # may send one message type, and the ids are not checked.
            for side, senders in (("client", (framing_pb2.CLIENT, framing_pb2.BOTH)),
                                  ("server", (framing_pb2.SERVER, framing_pb2.BOTH))):
                if entry.sender not in senders:
                    continue
                if side in sends:
                    first_index, first_name = sends[side]
                    sink.error(line, subject,
                               f"the {side} already sends '{first_name}' (message[{first_index}]),"
                               " and the header has no MESSAGE_ID field to tell them apart",
                               "add a MESSAGE_ID field to the header, or wrap the messages in one"
                               " message with a oneof")
                else:
                    sends[side] = (index, name)
            continue
        if entry.id in ids:
            sink.error(loaded.line_of(("message", index), ("id", 0)), subject,
                       f"id {entry.id} is also used by message[{ids[entry.id]}]",
                       "give every message its own id")
        else:
            ids[entry.id] = index
        if id_width and entry.id >= 1 << (8 * id_width):
            sink.error(loaded.line_of(("message", index), ("id", 0)), subject,
                       f"id {entry.id} does not fit the {id_width}-byte message id field "
                       f"'{id_field.name}'",
                       f"use an id below {1 << (8 * id_width)} or widen the field")
    heartbeat = spec.heartbeat.lstrip(".")
    if spec.heartbeat and heartbeat not in types:
        listed = [entry.type.lstrip(".") for entry in spec.message]
        close = difflib.get_close_matches(heartbeat, listed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else \
            "add the message to the table, or name one that is there"
        sink.error(loaded.line_of(("heartbeat", 0)), f"heartbeat '{heartbeat}'",
                   "the heartbeat is not a message of the table", fix)


def envelope_oneof(descriptor):
    """(oneof name, its fields) of the envelope's one real oneof, or None."""
    real = sorted({field.oneof_index for field in descriptor.field
                   if field.HasField("oneof_index") and not field.proto3_optional})
    if len(real) != 1:
        return None
    index = real[0]
    return (descriptor.oneof_decl[index].name,
            [field for field in descriptor.field
             if field.HasField("oneof_index") and field.oneof_index == index])


def _check_envelope(loaded: LoadedSpec, messages: Dict[str, str], descriptors,
                    sink: DiagnosticSink) -> None:
    spec = loaded.spec
    name = spec.envelope.lstrip(".")
    line = loaded.line_of(("envelope", 0))
    for index, field in enumerate(spec.header):
        if field.role == framing_pb2.MESSAGE_ID:
            sink.error(loaded.line_of(("header", index)), f"header[{index}] '{field.name}'",
                       "the envelope's oneof already says which message a frame carries",
                       "remove the MESSAGE_ID field, or the envelope")
    if name not in messages:
        close = difflib.get_close_matches(name, messages, n=1)
        fix = f"did you mean '{close[0]}'?" if close else \
            "name a message of the .proto, package included"
        sink.error(line, f"envelope '{name}'", "no such message in the .proto or its imports", fix)
        return
    descriptor = descriptors.get(name)
    if descriptor is None:
        return  # only names are known (some tests validate without descriptors)
    found = envelope_oneof(descriptor)
    if found is None:
        sink.error(line, f"envelope '{name}'", "the envelope needs exactly one oneof",
                   "put a field for each message in one 'oneof body { ... }'")
        return
    oneof, members = found
    for index, entry in enumerate(spec.message):
        type_name = entry.type.lstrip(".")
        matching = [field for field in members if field.type_name.lstrip(".") == type_name]
        subject = f"message[{index}] '{type_name}'"
        entry_line = loaded.line_of(("message", index))
        if not matching:
            short = type_name.rsplit(".", 1)[-1]
            snake = "".join("_" + c.lower() if c.isupper() else c for c in short).lstrip("_")
            sink.error(entry_line, subject, f"not a field of the envelope's oneof '{oneof}'",
                       f"add '{short} {snake} = <number>;' to oneof {oneof} in {name}")
        elif len(matching) > 1:
            sink.error(entry_line, subject, f"{len(matching)} fields of oneof '{oneof}' have"
                       " this type, so a frame would not say which one is meant",
                       "keep one field per message type in the oneof")
        elif entry.id and entry.id != matching[0].number:
            sink.error(loaded.line_of(("message", index), ("id", 0)), subject,
                       f"id {entry.id} differs from its oneof field number"
                       f" {matching[0].number}",
                       f"use id: {matching[0].number}, or leave the id out")


_INTEGER_TYPES = {
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32, descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32,
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT32,
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_ENUM,
}


def validate_services(loaded: LoadedSpec, proto, descriptors) -> None:
    """Check the `service` rpcs of `proto` against the spec's message table
    and its rpc settings; SpecError listing every problem."""
    spec = loaded.spec
    sink = DiagnosticSink(loaded.path)
    senders = {entry.type.lstrip("."): entry.sender for entry in spec.message}
    client_sends = (framing_pb2.CLIENT, framing_pb2.BOTH)
    server_sends = (framing_pb2.SERVER, framing_pb2.BOTH)
    requests = {}
    methods = [(service, method) for service in proto.service for method in service.method]
    if methods and spec.format in (framing_pb2.LINE_DELIMITED, framing_pb2.RAW):
        what = "lines" if spec.format == framing_pb2.LINE_DELIMITED else "raw bytes"
        sink.error(None, f"service {proto.service[0].name}",
                   f"a {framing_pb2.FrameFormat.Name(spec.format)} protocol carries {what},"
                   " not the messages of an rpc",
                   "remove the service from the .proto, or use a binary framing")
        sink.raise_if_any()
    for service, method in methods:
        subject = f"rpc {service.name}.{method.name}"
        if method.client_streaming or method.server_streaming:
            sink.error(None, subject, "streaming rpcs are not supported",
                       "make the request and the reply single messages, or send the stream as"
                       " ordinary messages of the table")
            continue
        request, reply = method.input_type.lstrip("."), method.output_type.lstrip(".")
        for what, name, allowed, side in (("request", request, client_sends, "CLIENT"),
                                          ("reply", reply, server_sends, "SERVER")):
            if name not in senders:
                sink.error(None, subject, f"its {what} '{name}' is not in the message table",
                           f"add 'message {{ type: \"{name}\" sender: {side} }}'")
            elif senders[name] not in allowed:
                sink.error(None, subject, f"its {what} '{name}' is not sent by the {side.lower()}"
                           " in the message table", f"set its sender to {side} or BOTH")
        if request in requests:
            sink.error(None, subject, f"its request '{request}' is also the request of rpc"
                       f" {requests[request]}, so a server could not tell which rpc is called",
                       "give each rpc a request message of its own")
        else:
            requests[request] = f"{service.name}.{method.name}"
    _check_rpc_error(loaded, senders, descriptors, bool(methods), sink)
    sink.raise_if_any()


def _check_rpc_error(loaded, senders, descriptors, has_rpcs: bool, sink) -> None:
    name = loaded.spec.rpc.error.lstrip(".")
    if not name:
        return
    line = loaded.line_of(("rpc", 0), ("error", 0))
    subject = f"rpc.error '{name}'"
    if not has_rpcs:
        sink.error(line, subject, "the .proto has no service rpcs to report errors of",
                   "remove rpc.error, or add a service")
    if senders.get(name) not in (framing_pb2.SERVER, framing_pb2.BOTH):
        sink.error(line, subject, "the error status is not a message the server sends in the"
                   " table", f"add 'message {{ type: \"{name}\" sender: SERVER }}'")
        return
    descriptor = descriptors.get(name)
    fields = {field.name: field for field in descriptor.field} if descriptor else {}
    code, text = fields.get("code"), fields.get("message")
    if code is None or code.type not in _INTEGER_TYPES or \
            code.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        sink.error(line, subject, "the error status needs an integer field 'code'",
                   "add 'int32 code = 1;' to the message")
    if text is None or text.type != descriptor_pb2.FieldDescriptorProto.TYPE_STRING or \
            text.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        sink.error(line, subject, "the error status needs a string field 'message'",
                   "add 'string message = 2;' to the message")
