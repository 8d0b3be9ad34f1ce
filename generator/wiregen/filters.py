"""Small pure Jinja2 filters; each is a formatting rule, never a decision."""

from typing import Iterable


def open_namespace(parts: Iterable[str]) -> str:
    """('a', 'b') -> 'namespace a::b {'; () -> ''."""
    parts = tuple(parts)
    return f"namespace {'::'.join(parts)} {{" if parts else ""


def close_namespace(parts: Iterable[str]) -> str:
    """('a', 'b') -> '}  // namespace a::b'; () -> ''."""
    parts = tuple(parts)
    return f"}}  // namespace {'::'.join(parts)}" if parts else ""


def doc_lines(lines: Iterable[str], prefix: str = "///   ") -> str:
    """('x', 'y') -> '///   x\\n///   y' (no trailing newline)."""
    return "\n".join((prefix + line).rstrip() for line in lines)


def wrapped_sum(prefix: str, expression: str, indent: int, width: int = 100) -> str:
    """'return ' + 'a + b + c' + ';', broken before a ' + ' where a line would
    pass `width` columns; continuation lines are indented 4 more."""
    terms = expression.split(" + ")
    lines = [prefix + terms[0]]
    for term in terms[1:]:
        if indent + len(lines[-1]) + len(" + " + term) + 1 > width:
            lines[-1] += " +"
            lines.append(" " * (indent + 4) + term)
        else:
            lines[-1] += " + " + term
    return "\n".join(lines) + ";"
