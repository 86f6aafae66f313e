"""Every secret variable also reads NAME_FILE and the systemd credential NAME (LoadCredential=)."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.settings import Settings, WorkerSettings


def test_a_file_named_by_name_file_holds_the_secrets_of_a_rotation(tmp_path: Path) -> None:
    (tmp_path / "stripe").write_text("whsec_old,\nwhsec_new\n")
    (tmp_path / "db").write_text("postgresql://webhooks:pw@db/webhooks\n")
    settings = Settings.from_env(
        {"DATABASE_URL_FILE": str(tmp_path / "db"), "STRIPE_WEBHOOK_SECRET_FILE": str(tmp_path / "stripe")}
    )
    assert settings.stripe_secrets == ("whsec_old", "whsec_new")
    assert settings.database_url == "postgresql://webhooks:pw@db/webhooks"


def test_systemd_credentials_are_read_from_the_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "DATABASE_URL").write_text("postgresql://db/webhooks")
    (tmp_path / "GITHUB_WEBHOOK_SECRET").write_text("gh-secret")
    settings = Settings.from_env({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert (settings.database_url, settings.github_secrets) == ("postgresql://db/webhooks", ("gh-secret",))
    worker = WorkerSettings.from_env({"CREDENTIALS_DIRECTORY": str(tmp_path), "WEBHOOK_HANDLER_MODULES": "m"})
    assert worker.database_url == "postgresql://db/webhooks"


def test_the_variable_wins_over_a_credential_and_both_variable_and_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "GITHUB_WEBHOOK_SECRET").write_text("from-credential")
    (tmp_path / "file").write_text("from-file")
    env = Env({"GITHUB_WEBHOOK_SECRET": "from-variable", "CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert env.secrets("GITHUB_WEBHOOK_SECRET") == ("from-variable",)
    with pytest.raises(ConfigError) as caught:
        Env({"GITHUB_WEBHOOK_SECRET": "a", "GITHUB_WEBHOOK_SECRET_FILE": str(tmp_path / "file")}).secrets(
            "GITHUB_WEBHOOK_SECRET"
        )
    assert caught.value.variable == "GITHUB_WEBHOOK_SECRET_FILE"
    assert "keep one" in str(caught.value)


@pytest.mark.parametrize(("content", "complaint"), [(None, "cannot read"), ("\n", "is empty")])
def test_a_missing_or_empty_file_stops_the_start_naming_it(tmp_path: Path, content: str | None, complaint: str) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DATABASE_URL": "postgresql://db/x", "SLACK_SIGNING_SECRET_FILE": str(path)})
    assert caught.value.variable == "SLACK_SIGNING_SECRET_FILE"
    assert complaint in str(caught.value) and str(path) in str(caught.value)


def test_an_endpoints_secret_env_reads_its_file_too(tmp_path: Path) -> None:
    (tmp_path / "endpoints.toml").write_text('[endpoints.acme]\nsecret_env = "ACME_SECRET"\nheader = "X-Sig"\n')
    (tmp_path / "acme").write_text("a1,a2")
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://db/x",
            "WEBHOOK_ENDPOINTS_FILE": str(tmp_path / "endpoints.toml"),
            "ACME_SECRET_FILE": str(tmp_path / "acme"),
        }
    )
    assert settings.endpoints[0].secrets == ("a1", "a2")
