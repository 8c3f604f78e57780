"""The facts about each method of a boundary, declared once in a table beside its Protocol (ADR 0025)."""

import inspect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Deadline(StrEnum):
    """Which deadline a method runs under: reads get the short one."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class Method:
    """One method: whether it changes anything, may be repeated, is compared in shadow."""

    name: str
    reads: bool
    retry_safe: bool = True
    compared: bool = True  # a read shadow mode mirrors to the remote side and compares

    @property
    def shadowed(self) -> bool:
        """Whether shadow mode mirrors this method to the remote side and compares."""
        return self.reads and self.compared

    @property
    def deadline(self) -> Deadline:
        """The deadline class of the method."""
        return Deadline.READ if self.reads else Deadline.WRITE


class MethodTable(Mapping[str, Method]):
    """Every method of one Protocol, by name; built once, read by every link of the chain."""

    def __init__(self, protocol: type, methods: Iterable[Method]) -> None:
        self._methods = {method.name: method for method in methods}
        declared = {
            name
            for name, member in vars(protocol).items()
            if not name.startswith("_") and inspect.iscoroutinefunction(member)
        }
        if declared != set(self._methods):
            missing, extra = declared - set(self._methods), set(self._methods) - declared
            raise ValueError(f"method table of {protocol.__name__}: {missing=} {extra=}")
        self.protocol = protocol

    def __getitem__(self, name: str) -> Method:
        return self._methods[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._methods)

    def __len__(self) -> int:
        return len(self._methods)
