"""Load a framing spec: protobuf text format typed by schema/wiregen/framing.proto.

Parsing is protobuf's own text-format parser, so syntax errors carry a line
and a column. Alongside the parsed message we keep where every field was
written, so that later checks can point at the line of the offending entry.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from google.protobuf import text_format

from wiregen.diagnostics import Diagnostic, SpecError

try:
    import framing_pb2  # generated from schema/wiregen/framing.proto at build time
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "framing_pb2 not found: generate it with "
        "'protoc -I schema/wiregen --python_out=<dir> framing.proto' and put <dir> "
        "on PYTHONPATH (wiregen_generate() does this)"
    ) from missing

# A field's position in the text: (("message", 2), ("id", 0)) is the `id` of
# the third `message` entry.
FieldPath = Tuple[Tuple[str, int], ...]


@dataclass(frozen=True)
class LoadedSpec:
    """A parsed spec and the line (1-based) of every field written in it."""

    path: str
    spec: "framing_pb2.FramingSpec"
    lines: Dict[FieldPath, int]

    def line_of(self, *path: Tuple[str, int]) -> Optional[int]:
        """The line of the field at `path`, or of its closest written parent."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def load_spec(path: str, text: str) -> LoadedSpec:
    """Parse `text` (the contents of `path`); SpecError on a syntax error."""
    spec = framing_pb2.FramingSpec()
    try:
        text_format.Parse(text, spec)
    except text_format.ParseError as error:
        message = str(error)
        # ParseError's text starts with "line:column : "; we print our own.
        if " : " in message:
            message = message.split(" : ", 1)[1]
        line = error.GetLine() if hasattr(error, "GetLine") else None
        column = error.GetColumn() if hasattr(error, "GetColumn") else None
        subject = f"column {column}" if column else ""
        raise SpecError(
            [
                Diagnostic(
                    path,
                    line,
                    subject,
                    message,
                    "see schema/wiregen/framing.proto for every field and its type",
                )
            ]
        ) from None
    return LoadedSpec(path=path, spec=spec, lines=_locate_fields(text))


def _locate_fields(text: str) -> Dict[FieldPath, int]:
    """Walk the (already valid) text's tokens and note where each field starts."""
    tokenizer = text_format.Tokenizer(text.splitlines())
    lines: Dict[FieldPath, int] = {}
    _locate_in_message(tokenizer, (), lines, None)
    return lines


def _locate_in_message(tokenizer, path: FieldPath, lines, end: Optional[str]) -> None:
    """Note the fields of one message, up to and including its closing `end`."""
    counts: Dict[str, int] = defaultdict(int)
    while not tokenizer.AtEnd() and tokenizer.token != end:
        if tokenizer.token in (",", ";"):  # optional separators between fields
            tokenizer.NextToken()
            continue
        name, line = tokenizer.token, tokenizer._line + 1
        tokenizer.NextToken()
        if tokenizer.token == ":":
            tokenizer.NextToken()
        if tokenizer.token != "[":
            field = path + ((name, counts[name]),)
            counts[name] += 1
            lines[field] = line
            _locate_in_value(tokenizer, field, lines)
            continue
        # A list, 'header: [{...}, {...}]': one entry per element.
        tokenizer.NextToken()
        while tokenizer.token != "]":
            field = path + ((name, counts[name]),)
            counts[name] += 1
            lines[field] = tokenizer._line + 1
            _locate_in_value(tokenizer, field, lines)
            if tokenizer.token == ",":
                tokenizer.NextToken()
        tokenizer.NextToken()
    if end is not None:
        tokenizer.NextToken()


def _locate_in_value(tokenizer, field: FieldPath, lines) -> None:
    """Skip one value; a message's fields are noted under `field`."""
    if tokenizer.token in ("{", "<"):
        end = "}" if tokenizer.token == "{" else ">"
        tokenizer.NextToken()
        _locate_in_message(tokenizer, field, lines, end)
        return
    if tokenizer.token == "-":
        tokenizer.NextToken()
    tokenizer.NextToken()
    # Adjacent string literals are one value: "ab" "cd".
    while tokenizer.token[:1] in ("'", '"'):
        tokenizer.NextToken()
