"""Where the benchmark writes its results."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = ROOT / "bench-results"
PLOT = ROOT / "docs" / "bench" / "throughput.png"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
