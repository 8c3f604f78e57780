"""How shadow mode tells two answers apart: a pluggable comparer, one for pydantic models here."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

MAX_REPORTED = 10


@dataclass(frozen=True, slots=True)
class Answer:
    """How one side of a shadowed read ended, and how long it took."""

    value: Any
    error: BaseException | None
    seconds: float


class Comparer(Protocol):
    """Judges a shadowed read: which errors are answers, and what differs."""

    def is_answer(self, error: BaseException) -> bool:
        """Whether ``error`` is an answer the contract defines (comparable), not a failure."""
        ...

    def differences(self, primary: Answer, candidate: Answer) -> list[str]:
        """Paths that differ; empty when the two sides agree."""
        ...


class ModelComparer:
    """Compares pydantic results field by field, errors by type and ``error_attributes``."""

    def __init__(
        self,
        answers: tuple[type[BaseException], ...],
        unavailable: tuple[type[BaseException], ...] = (),
        error_attributes: Sequence[str] = (),
    ) -> None:
        self._answers = answers
        self._unavailable = unavailable
        self._attributes = tuple(error_attributes)

    def is_answer(self, error: BaseException) -> bool:
        """A contract exception that is not an outage."""
        return isinstance(error, self._answers) and not isinstance(error, self._unavailable)

    def differences(self, primary: Answer, candidate: Answer) -> list[str]:
        """Dotted paths that differ, at most ``MAX_REPORTED``."""
        if primary.error is not None or candidate.error is not None:
            return self._error_differences(primary.error, candidate.error)
        found: list[str] = []
        _diff(_plain(primary.value), _plain(candidate.value), "", found)
        return found[:MAX_REPORTED]

    def _error_differences(
        self, primary: BaseException | None, candidate: BaseException | None
    ) -> list[str]:
        if primary is None or candidate is None:
            return ["<outcome>: value vs error" if primary is None else "<outcome>: error vs value"]
        if type(primary) is not type(candidate):
            return [f"<error>: {type(primary).__name__} vs {type(candidate).__name__}"]
        return [
            f"<error>.{name}"
            for name in self._attributes
            if getattr(primary, name, None) != getattr(candidate, name, None)
        ]


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _diff(primary: Any, candidate: Any, path: str, found: list[str]) -> None:
    if len(found) >= MAX_REPORTED:
        return
    if isinstance(primary, dict) and isinstance(candidate, dict):
        for key in sorted(primary.keys() | candidate.keys()):
            _diff(primary.get(key), candidate.get(key), f"{path}.{key}" if path else key, found)
    elif (
        isinstance(primary, list) and isinstance(candidate, list) and len(primary) == len(candidate)
    ):
        for index, (left, right) in enumerate(zip(primary, candidate, strict=True)):
            _diff(left, right, f"{path}[{index}]", found)
    elif primary != candidate:
        found.append(path or "<value>")
