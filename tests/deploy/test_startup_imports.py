"""What a service imports before it serves: start-up time is mostly imports."""

import json
import os
import subprocess
import sys

import pytest

_PROBE = (
    "import json, sys; import {module}; app = {module}.create_app(); "
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic')))"
)


@pytest.mark.parametrize("module", ["orders.main", "products.main"])
def test_a_service_that_does_not_migrate_never_imports_alembic(module: str) -> None:
    # alembic is the largest import of either service; only a migration needs it.
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        # Without APP_ENVIRONMENT a process is production and refuses the dev secrets.
        env={**os.environ, "APP_ENVIRONMENT": "testing"},
    )

    assert json.loads(result.stdout.splitlines()[-1]) == []
