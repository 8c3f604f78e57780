"""Make ``tests/unit/fakes.py`` importable as ``fakes`` (pytest runs in importlib mode)."""

import sys
from pathlib import Path

_UNIT = str(Path(__file__).resolve().parent / "unit")
if _UNIT not in sys.path:
    sys.path.insert(0, _UNIT)
