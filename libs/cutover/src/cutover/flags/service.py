"""A service's run-time flags as the cut-over knows them: its model, and the names operators read."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cutover.flags.errors import ModeUnavailable
from seam import FlagNames

F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ServiceFlags(Generic[F]):
    """The service's flag model, the seam's flags on it, and what names them to an operator.

    Problem details, the admin API's document and the CLI's lines take every
    service-specific name from here; ``model`` declares each flag's type and bounds.
    """

    model: type[F]
    seam: FlagNames
    """The seam's mode, canary share and shadow sample rate: fields of ``model``."""
    settings: FlagNames
    """The start-up settings that give those three their defaults (``APP_PRODUCTS_CLIENT``, ...)."""
    features: str
    """Where the other flags' defaults are set (``FEATURE_*``)."""
    refresh: str
    """The setting of the snapshot's refresh interval (``APP_FLAGS_REFRESH_SECONDS``)."""
    service: str
    """The service's command (``orders``)."""
    boundary: str
    """The other side of the seam (``products``): whose clients a mode builds, its readiness check."""
    unavailable: type[ModeUnavailable]
    """The refusal of a mode this process did not build, with the service's problem code."""

    @property
    def names(self) -> frozenset[str]:
        """Every flag's name."""
        return frozenset(self.model.model_fields)

    @property
    def modes(self) -> Any:
        """The mode flag's type: the service's enum of ``seam.Mode``'s values."""
        return self.model.model_fields[self.seam.mode].annotation
