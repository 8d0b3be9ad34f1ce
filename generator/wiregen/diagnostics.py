"""Errors in the user's input, each pointing at a file, a line and a fix."""

from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a framing spec or in the plugin's parameters."""

    path: str
    line: Optional[int]
    subject: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        subject = f" {self.subject}:" if self.subject else ""
        return f"{where}:{subject} {self.message} (fix: {self.fix})"


class SpecError(Exception):
    """Raised with every diagnostic found, so one run reports them all."""

    def __init__(self, diagnostics: List[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class DiagnosticSink:
    """Collects diagnostics for one file; raise_if_any() ends validation."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: List[Diagnostic] = []

    def error(self, line: Optional[int], subject: str, message: str, fix: str) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, subject, message, fix))

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise SpecError(self.diagnostics)
