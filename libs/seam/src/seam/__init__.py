"""One boundary, two implementations, every mode through one chain composed once (ADR 0025)."""

from seam.chain import Call, Handler, Link, client, compose, on
from seam.compare import Answer, Comparer, ModelComparer
from seam.fallback import ACTOR, Fallback, FallbackState
from seam.methods import Deadline, Method, MethodTable
from seam.metrics import SeamMetrics
from seam.modes import MODES, FlagNames, Mode, Side, bucket, choosable, on_remote
from seam.observe import Observe
from seam.router import Seam
from seam.shadow import Shadow
from seam.timing import work_started
from seam.window import Thresholds, WindowStats

__all__ = [
    "ACTOR",
    "MODES",
    "Answer",
    "Call",
    "Comparer",
    "Deadline",
    "Fallback",
    "FallbackState",
    "FlagNames",
    "Handler",
    "Link",
    "Method",
    "MethodTable",
    "Mode",
    "ModelComparer",
    "Observe",
    "Seam",
    "SeamMetrics",
    "Shadow",
    "Side",
    "Thresholds",
    "WindowStats",
    "bucket",
    "choosable",
    "client",
    "compose",
    "on",
    "on_remote",
    "work_started",
]
