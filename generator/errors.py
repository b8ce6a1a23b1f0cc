"""Problems found in the content, and the one exception that carries them.

Problems print like a compiler's: ``path:line: error: message``. Every stage
collects all it finds before raising, so an author fixes a bank in one pass.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from generator.model import Location


class Severity(enum.Enum):
    """Errors stop a build; warnings are logged, and fatal under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the content, at a place when one is known."""

    message: str
    location: Location | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        # One line per problem, whatever it quotes: a key or a value may hold a line break.
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{where}{self.severity.value}: {message}"


class GeneratorError(Exception):
    """Raised when the content or the options cannot produce outputs.

    The CLI prints each problem and a summary line, then exits 1.
    """

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def summary(self) -> str:
        """Return e.g. "3 errors in 2 files" for the problems carried."""
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        counted = errors or list(self.problems)
        noun = "error" if errors else "warning"
        files = {p.location.path for p in counted if p.location}
        text = f"{len(counted)} {noun}{'s' if len(counted) != 1 else ''}"
        if files:
            text += f" in {len(files)} file{'s' if len(files) != 1 else ''}"
        return text


class Problems:
    """A collector that stages append to; ``raise_if_errors`` ends the stage."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, message: str, location: Location | None = None) -> None:
        """Record an error."""
        self.items.append(Problem(message, location, Severity.ERROR))

    def warning(self, message: str, location: Location | None = None) -> None:
        """Record a warning."""
        self.items.append(Problem(message, location, Severity.WARNING))

    @property
    def errors(self) -> list[Problem]:
        """Return the errors recorded so far."""
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Return the warnings recorded so far."""
        return [p for p in self.items if p.severity is Severity.WARNING]

    def raise_if_errors(self, strict: bool = False) -> None:
        """Raise GeneratorError if there are errors (or any warnings, when strict)."""
        fatal = self.errors + (self.warnings if strict else [])
        if fatal:
            if strict:
                fatal = [Problem(p.message, p.location, Severity.ERROR) for p in self.items]
            raise GeneratorError(sorted(fatal, key=_order))


def _order(problem: Problem) -> tuple[str, int]:
    loc = problem.location
    return (loc.path, loc.line) if loc else ("", 0)


class UsageError(GeneratorError):
    """An option names something the bank does not have (a category, tag, subset).

    The CLI reports it as a usage mistake on ``option``, with exit status 2.
    """

    def __init__(self, option: str, message: str):
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}")
