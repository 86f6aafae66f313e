"""Fixtures of the unit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask of a shell or a container (022), not the systemd units' 0077: what the program
    creates private must be private without the units' help."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)
