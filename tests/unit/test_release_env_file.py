"""rolling-deploy --env-file: the release's environment read as systemd's EnvironmentFile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from webhook_server.rollout.rolling import INHERITED_VARIABLES, read_env_file


def test_the_shipped_example_reads_as_its_variables_and_nothing_of_this_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://the-old-release/elsewhere")
    env = read_env_file(REPO_ROOT / "deploy" / "systemd" / "server.env.example")
    assert "DATABASE_URL" not in env  # a credential of the units, never the shell's
    assert env["WEBHOOK_LOG_LEVEL"] == "info"
    assert set(env) - {"WEBHOOK_LOG_LEVEL"} <= set(INHERITED_VARIABLES)


def test_quotes_export_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "server.env"
    path.write_text("# a comment\n; another\n\nexport A=1\nB=\"two words\"\nC='x=y'\n  D = 4 \n")
    env = read_env_file(path)
    assert {key: env[key] for key in "ABCD"} == {"A": "1", "B": "two words", "C": "x=y", "D": "4"}


def test_a_line_that_is_not_key_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "server.env"
    path.write_text("A=1\nnot a setting\n")
    with pytest.raises(ValueError, match=r"server.env:2: expected KEY=VALUE"):
        read_env_file(path)
