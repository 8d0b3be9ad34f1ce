"""The plugin's parameters: --wiregen_opt=framing=<path>[,name=value...]."""

from dataclasses import dataclass

from wiregen.diagnostics import Diagnostic, SpecError

_KNOWN = {
    "framing": "path of the framing spec (.framing.textpb)",
    "framing_name": "how the spec is named in generated banners "
    "(default: its file name)",
}


@dataclass(frozen=True)
class Parameters:
    framing: str
    framing_name: str


def parse_parameters(text: str) -> Parameters:
    """Parse 'key=value,key=value'; an unknown or repeated key is an error."""
    values = {}
    problems = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in _KNOWN:
            known = ", ".join(f"{k} ({v})" for k, v in sorted(_KNOWN.items()))
            problems.append(_problem(f"unknown parameter '{item}'", f"use one of: {known}"))
        elif key in values:
            problems.append(_problem(f"parameter '{key}' given twice", "give it once"))
        else:
            values[key] = value
    if "framing" not in values and not problems:
        problems.append(
            _problem(
                "no framing spec given",
                "pass --wiregen_opt=framing=<path to .framing.textpb> "
                "(wiregen_generate() does this for you)",
            )
        )
    if problems:
        raise SpecError(problems)
    framing = values["framing"]
    name = values.get("framing_name") or framing.replace("\\", "/").rsplit("/", 1)[-1]
    return Parameters(framing=framing, framing_name=name)


def _problem(message: str, fix: str) -> Diagnostic:
    return Diagnostic("protoc-gen-wiregen parameters", None, "", message, fix)
