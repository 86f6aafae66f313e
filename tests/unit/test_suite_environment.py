"""What the suite's own environment must hold for its results to mean anything on any checkout."""

from __future__ import annotations

from tests.conftest import REPO_ROOT
from webhook_server.dev.workspace import Workspace


def test_no_test_sees_the_checkouts_dev_workspace() -> None:
    """`scripts/dev` leaves .webhook-dev in the checkout: `send` in a test signed with its secrets
    instead of the test's, so 4 tests failed after a dev run (conftest.no_dev_workspace)."""
    directory = Workspace.from_environ().directory
    assert not directory.is_relative_to(REPO_ROOT), directory
    assert not directory.exists()
