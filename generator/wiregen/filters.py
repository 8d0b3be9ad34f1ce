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
