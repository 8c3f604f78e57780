"""Fixtures shared by the deploy checks."""

import pytest

from deploy.compose_check import COMPOSE_FILE, load_compose
from tests.deploy.compose_support import Compose


@pytest.fixture
def compose() -> Compose:
    """docker-compose.yml as parsed for the checker."""
    return load_compose(COMPOSE_FILE)
