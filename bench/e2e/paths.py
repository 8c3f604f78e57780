"""Where the benchmark writes its results."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = ROOT / "bench-results"
PLOT = ROOT / "docs" / "bench" / "throughput.png"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def shown(path: Path) -> str:
    """``path`` as a message shows it: relative inside the repository, else as it is."""
    # --plot may point anywhere (e.g. /tmp); relative_to would raise after the whole run.
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
