"""Every call through the seam is one ``Call`` passed down a chain of links composed once (ADR 0025)."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from seam.methods import Method, MethodTable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call:
    """One call of a Protocol method: the method's facts and its arguments."""

    method: Method
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def on(self, implementation: object) -> Awaitable[Any]:
        """The same call made on ``implementation``."""
        return cast(
            Awaitable[Any],
            getattr(implementation, self.method.name)(*self.args, **self.kwargs),
        )


Handler = Callable[[Call], Awaitable[Any]]


class Link(Protocol):
    """One concern of the chain: does its work around ``next``."""

    async def __call__(self, call: Call, next: Handler) -> Any:
        """Handle ``call``, usually by awaiting ``next(call)``."""
        ...


def on(implementation: object) -> Handler:
    """The chain's last step: the call made on ``implementation``."""
    return lambda call: call.on(implementation)


def compose(links: Sequence[Link], last: Handler) -> Handler:
    """``links`` in order around ``last``: the first link sees the call first."""
    handler = last
    for link in reversed(links):
        handler = partial(link, next=handler)
    return handler


def client(table: MethodTable, handler: Handler, name: str) -> Any:
    """An object with every method of ``table``'s Protocol, each one ``handler(Call(...))``."""

    def method(facts: Method) -> Callable[..., Awaitable[Any]]:
        def call(self: object, *args: Any, **kwargs: Any) -> Awaitable[Any]:
            return handler(Call(facts, args, kwargs))

        call.__name__ = call.__qualname__ = facts.name
        return call

    namespace: dict[str, Any] = {name: method(facts) for name, facts in table.items()}
    namespace["__repr__"] = lambda self: f"<{name} {table.protocol.__name__}>"
    return type(name, (), namespace)()
