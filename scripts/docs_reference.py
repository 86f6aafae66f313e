"""Render the docs site's reference pages from the code, so that they cannot drift from it.

    scripts/docs reference            # rewrite docs/reference/*.md (starts a throwaway Postgres)
    scripts/docs reference --check    # write nothing; exit 1 naming the pages that are stale

Each page is a function of the code: the command line from click's own objects, the environment
variables from webhook_server.variables, the metrics from the metrics modules' objects, the
alert rules from deploy/prometheus/alerts.yml, the refusals from the schemes' table of reasons,
the exit codes from webhook_server.errors, and the database schema from a Postgres the
migrations built (``--database-url``, or a throwaway one). tests/unit/test_docs_reference.py
and tests/integration/test_docs_schema.py fail when a committed page is not what this renders.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
SQL = Path(__file__).resolve().parent / "docs_sql"
MIGRATIONS = ROOT / "webhook_server" / "sql" / "migrations"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
HEADER = (
    "<!-- Generated from the code by scripts/docs_reference.py: change the code, then run "
    "`scripts/docs reference`. -->\n\n"
)


def cell(text: str) -> str:
    """Text for one cell of a Markdown table: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


@contextlib.contextmanager
def plain_environment() -> Iterator[None]:
    """Render as on a machine with nothing configured: the command line lists `send`'s targets
    from WEBHOOK_ENDPOINTS_FILE, and a page must not depend on who generated it."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("WEBHOOK_") or name.endswith(("_SECRET", "_SECRET_FILE")):
            del os.environ[name]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# The command line ----------------------------------------------------------------------------


def cli_page() -> str:
    from webhook_server.cli import main

    lines = [
        "# Command line",
        "",
        "Every command of `webhook-server`, with the options `--help` prints. Every command "
        "takes `-h`/`--help`; exit codes are on [Exit codes](exit-codes.md), environment "
        "variables on [Environment variables](environment.md).",
        "",
    ]
    with plain_environment():
        for path, command in commands(main, ("webhook-server",)):
            lines += _command_section(path, command)
    return "\n".join(lines)


def commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``command``, depth first, groups before their subcommands."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from commands(sub, (*path, name))


def _command_section(path: tuple[str, ...], command: click.Command) -> list[str]:
    name = " ".join(path)
    ctx = click.Context(command, info_name=name)
    lines = [f"## `{name}`", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help).replace("\b\n", ""), ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```", f"{name} {usage}".rstrip(), "```", ""]
    records = [
        record
        for param in command.get_params(ctx)
        if isinstance(param, click.Option) and param.name != "help" and (record := param.get_help_record(ctx))
    ]
    if records:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [f"| `{cell(names)}` | {cell(text)} |" for names, text in records]
        lines.append("")
    return lines


# Environment variables -----------------------------------------------------------------------


def environment_page() -> str:
    from webhook_server.variables import PROCESSES, VARIABLES

    lines = [
        "# Environment variables",
        "",
        "Everything webhook-server reads from its environment, by the process that reads it. "
        "A bad value stops the start with exit code 78 and a line naming the variable and the fix. "
        "Variables marked *secret* are also read from the file `NAME_FILE` names, or from the "
        "systemd credential `NAME` ([Secrets](../how-to/secrets.md)).",
        "",
    ]
    for process, title in PROCESSES.items():
        variables = [variable for variable in VARIABLES if variable.processes[0] == process]
        if not variables:
            continue
        lines += [f"## {title}", ""]
        for variable in variables:
            default = f"`{variable.default}`" if variable.default else ""
            if variable.default_note:
                default = f"{default} ({variable.default_note})" if default else variable.default_note
            facts = [f"default: {default}" if default else "no default"]
            if len(variable.processes) > 1:
                facts.append("also read by: " + ", ".join(variable.processes[1:]))
            if variable.secret:
                facts.append("*secret*")
            lines += [f"### {variable.name}", "", variable.meaning, "", "; ".join(facts) + ".", ""]
    return "\n".join(lines)


# Metrics and alerts ---------------------------------------------------------------------------


def metrics_page() -> str:
    from prometheus_client.metrics import MetricWrapperBase

    from webhook_server.spool.store import Spool
    from webhook_server.web import metrics, scrape
    from webhook_server.worker.metrics import WorkerMetrics

    lines = [
        "# Metrics",
        "",
        "What to do with them: [Monitoring](../how-to/monitoring.md); the alert rules built on "
        "them: [Alert rules](alerts.md).",
        "",
        "## The web server's `GET /metrics`",
        "",
        "Summed over every gunicorn worker of an instance (prometheus_client's multiprocess "
        "mode, in `PROMETHEUS_MULTIPROC_DIR`).",
        "",
        "| metric | type | labels | meaning |",
        "|---|---|---|---|",
    ]
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            name = metric._name + ("_total" if metric._type == "counter" else "")
            labels = ", ".join(f"`{label}`" for label in metric._labelnames)
            lines.append(f"| `{name}` | {metric._type} | {labels} | {cell(metric._documentation)} |")
    # Read at each scrape: the drain flag, and the spool's backlog when WEBHOOK_SPOOL_DIR is set.
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(Path(directory), max_bytes=2**30)
        families = [*scrape._DrainingRegistry().collect(), *scrape._SpoolRegistry(spool).collect()]
    lines += [_family_row(family) for family in families]
    lines += [
        "",
        "## The worker's `/metrics` (`WEBHOOK_WORKER_METRICS_BIND`)",
        "",
        "Each worker process serves its own, with the `process_*` metrics of prometheus_client.",
        "",
        "| metric | type | labels | meaning |",
        "|---|---|---|---|",
    ]
    worker = WorkerMetrics(["stripe"])
    worker.skipped("stripe", "payout.paid")
    worker.oldest_due(0.0)
    lines += [_family_row(family) for family in worker.collect()]
    return "\n".join(lines)


def _family_row(family: object) -> str:
    name, kind, documentation = family.name, family.type, family.documentation  # type: ignore[attr-defined]
    labels = sorted({label for sample in family.samples for label in sample.labels})  # type: ignore[attr-defined]
    exposed = name + ("_total" if kind == "counter" else "")
    return f"| `{exposed}` | {kind} | {', '.join(f'`{label}`' for label in labels)} | {cell(documentation)} |"


def alerts_page() -> str:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    lines = [
        "# Alert rules",
        "",
        "`deploy/prometheus/alerts.yml`, rule by rule; `promtool test rules` proves each in the "
        "suite (`tests/deploy/test_alerts.py`). The metrics they read: [Metrics](metrics.md).",
        "",
    ]
    for rule in rules:
        annotations = rule.get("annotations", {})
        lines += [
            f"## {rule['alert']}",
            "",
            f"{annotations.get('summary', '')}",
            "",
            f"Severity `{rule.get('labels', {}).get('severity', '')}`"
            + (f", after {rule['for']}" if "for" in rule else ", at once")
            + ".",
            "",
            " ".join(annotations.get("description", "").split()),
            "",
            "```promql",
            rule["expr"].strip(),
            "```",
            "",
        ]
    return "\n".join(lines)


# HTTP answers and exit codes ------------------------------------------------------------------


def http_page() -> str:
    from webhook_server.schemes.base import REASONS
    from webhook_server.web import errors

    lines = [
        "# HTTP answers",
        "",
        "Every answer of `POST /webhooks/<endpoint>` (the same with a trailing slash; never a "
        "redirect) is JSON. What happens before each: "
        "[What happens to a delivery](../explanation/delivery.md).",
        "",
        "| status | body | when |",
        "|---|---|---|",
        '| 200 | `{"received": true, "duplicate": false}` | stored (committed to Postgres) |',
        '| 200 | `{"received": true, "duplicate": true}` | this event id was stored before |',
        '| 200 | `{"received": true, "duplicate": false, "spooled": true}` | Postgres could not '
        "commit in time; kept in the local spool (`WEBHOOK_SPOOL_DIR`) |",
        '| 200 | `{"challenge": …}` | a Slack `url_verification` handshake, verified; nothing stored |',
        '| 400 | `{"error": <reason>, "message": …}` | refused; the reasons are below; nothing stored |',
        f'| 404 | `{{"error": "not_found", "message": "{errors.NO_ROUTE_MESSAGE}"}}` | no such path, '
        "or an endpoint that is not configured; names none that is |",
        '| 413 | `{"error": "request_entity_too_large", …}` | the body is over `WEBHOOK_MAX_BODY_BYTES` |',
        f'| 503 | `{{"error": "database_unavailable", "message": "{errors.UNAVAILABLE_MESSAGE}"}}` | '
        f"no commit within `WEBHOOK_DB_TIMEOUT`, or the database circuit is open; "
        f"`Retry-After: {errors.RETRY_AFTER_SECONDS}` |",
        "",
        "## Refusal reasons",
        "",
        "The `error` of a 400, and the `reason` label of `webhook_rejections_total`. Stable: "
        "new ones may be added, none is renamed.",
        "",
        "| reason | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{reason}` | {cell(meaning)} |" for reason, meaning in REASONS.items()]
    lines += [
        "",
        "## Other routes",
        "",
        "| route | answers |",
        "|---|---|",
        '| `GET /health` | 200 `{"status": "ok"}`; 503 `{"status": "draining"}` from SIGTERM on. '
        "Never reads the database: for the load balancer |",
        '| `GET /ready` | 200 `{"status": "ready", …}`, else 503 with the problems: this '
        "process's path to the database. For deploy scripts, never for a load balancer |",
        "| `GET /metrics` | Prometheus text ([Metrics](metrics.md)) |",
        "",
    ]
    return "\n".join(lines)


def exit_codes_page() -> str:
    from webhook_server import errors

    codes = [(name, value) for name, value in vars(errors).items() if name.startswith("EXIT_")]
    comments = _trailing_comments(Path(errors.__file__))
    lines = [
        "# Exit codes",
        "",
        "Every `webhook-server` command and process exits with one of these "
        "(`webhook_server/errors.py`); systemd units restart on some and not others "
        "([systemd](../how-to/systemd.md)).",
        "",
        "| code | name | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {value} | `{name}` | {cell(comments.get(name, ''))} |" for name, value in codes]
    lines += ["", "A command given wrong options or arguments exits 2 (click's usage error).", ""]
    return "\n".join(lines)


def _trailing_comments(path: Path) -> dict[str, str]:
    """``NAME = value  # comment`` lines of a module: the comment by name."""
    found = {}
    for line in path.read_text().splitlines():
        name, _, rest = line.partition(" = ")
        if name.isidentifier() and "  # " in rest:
            found[name] = rest.split("  # ", 1)[1]
    return found


# The database schema --------------------------------------------------------------------------


def schema_page(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        columns = conn.execute((SQL / "columns.sql").read_text()).fetchall()
        definitions = conn.execute((SQL / "definitions.sql").read_text()).fetchall()
    lines = [
        "# Database schema",
        "",
        "The tables `webhook-server migrate` makes, as Postgres describes them after every "
        "migration in `webhook_server/sql/migrations/` (listed at the end, with what each says "
        "of itself).",
        "",
    ]
    for table in sorted({row[0] for row in columns}):
        lines += [f"## `{table}`", "", "| column | type | null | default | meaning |", "|---|---|---|---|---|"]
        for _, column, kind, not_null, default, identity, comment in (row for row in columns if row[0] == table):
            default = "identity" if identity else (default or "")
            nullable = "" if not_null else "null"
            lines.append(f"| `{column}` | {kind} | {nullable} | {cell(default)} | {cell(comment or '')} |")
        lines.append("")
        table_definitions = [row for row in definitions if row[0] == table]
        if table_definitions:
            lines += ["```sql"]
            lines += [f"-- {kind} {name}\n{text}" for _, kind, name, text in table_definitions]
            lines += ["```", ""]
    functions = [f"`{name}({arguments})`" for table, _, name, arguments in definitions if not table]
    if functions:
        lines += ["Functions: " + ", ".join(functions) + ".", ""]
    lines += ["## Migrations", ""]
    for path in sorted(MIGRATIONS.glob("*.sql")):
        lines += [f"### {path.stem}", "", _leading_comment(path), ""]
    return "\n".join(lines)


def _leading_comment(path: Path) -> str:
    """The comment a migration opens with (its directives, such as no-transaction, left out)."""
    said = []
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            break
        text = line.removeprefix("--").strip()
        if not text.startswith("webhook-server:"):
            said.append(text)
    return " ".join(said)


# The pages ------------------------------------------------------------------------------------

PAGES: dict[str, Callable[[], str]] = {
    "cli.md": cli_page,
    "environment.md": environment_page,
    "metrics.md": metrics_page,
    "alerts.md": alerts_page,
    "http.md": http_page,
    "exit-codes.md": exit_codes_page,
}
SCHEMA_PAGE = "schema.md"


def rendered(name: str, text: str) -> tuple[Path, str]:
    """The page's path and text: its title, the note that it is generated, then the rest
    (the title first: MkDocs names the page in the nav after a leading heading)."""
    title, _, rest = text.partition("\n")
    return REFERENCE / name, f"{title}\n\n{HEADER}{rest.strip(chr(10))}\n"


def stale_pages(database_url: str | None) -> dict[Path, str]:
    """The pages whose committed text differs from what the code renders, with that text."""
    pages = [rendered(name, render()) for name, render in PAGES.items()]
    if database_url is not None:
        pages.append(rendered(SCHEMA_PAGE, schema_page(database_url)))
    return {path: text for path, text in pages if not path.exists() or path.read_text(encoding="utf-8") != text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/reference/ from the code.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    parser.add_argument("--database-url", help="a migrated database to read the schema from (default: a throwaway one)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        database_url = args.database_url or stack.enter_context(_throwaway_database())
        stale = stale_pages(database_url)
    for path, text in stale.items():
        if args.check:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    if args.check and stale:
        print("run scripts/docs reference", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _throwaway_database() -> Iterator[str]:
    from tests.harness.postgres import NOT_DURABLE
    from webhook_server.dev.localdb import LocalPostgres
    from webhook_server.migrations import migrate

    with (
        tempfile.TemporaryDirectory(prefix="docs-schema-") as directory,
        LocalPostgres(Path(directory) / "data", settings=NOT_DURABLE) as server,
    ):
        migrate(server.url())
        yield server.url()


if __name__ == "__main__":
    sys.exit(main())
