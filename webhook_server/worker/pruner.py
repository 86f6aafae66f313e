"""The worker's retention: a thread that makes the days' partitions ahead (whatever the retention)
and removes finished events older than WEBHOOK_RETENTION.

It runs beside the dispatcher on a connection of its own, so a prune never delays a claim or an
outcome, and it deletes in batches of short transactions with a pause between them (see
webhook_server.retention.prune), so ingest's commits never queue behind it for long. Every
worker process prunes: batches skip rows another one has locked, so several share the work.
A database outage costs a logged warning and a try at the next round; it never stops the worker.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import psycopg

from webhook_server import db
from webhook_server.retention import partitions
from webhook_server.retention.prune import prune
from webhook_server.settings import WorkerSettings

logger = logging.getLogger(__name__)

# A round at start, then one an hour: a day's finished events go in 24 small rounds.
PRUNE_INTERVAL_SECONDS = 3600.0
# Between two batches of a round: at most 20 batches a second, so a backlog of millions
# goes at about 20,000 rows a second and leaves most of the database's time to ingest.
PAUSE_SECONDS = 0.05
# Each batch's statement limit: WEBHOOK_DB_TIMEOUT bounds the dispatcher's short statements, but a
# batch of 1,000 deletes on a busy database can take longer, and a cut batch deletes nothing.
STATEMENT_SECONDS = 30.0
# After a failed round (the database down), the next try; a successful round waits the interval.
RETRY_SECONDS = 60.0


class Pruner:
    """Every hour: makes the partitions of the days ahead, and removes done and skipped events
    received more than ``settings.retention`` ago."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        # Retention sets a session lock_timeout around each DETACH ... CONCURRENTLY: a session of its own.
        self._database_url = db.session_url(settings.database_url)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pruner", daemon=True)

    def start(self) -> None:
        if self._settings.retention is None:
            logger.info("retention off (WEBHOOK_RETENTION=off): finished events are kept")
        self._thread.start()

    def stop(self) -> None:
        """Stop between two batches; a batch under way is cut by the process's exit at worst."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(PRUNE_INTERVAL_SECONDS if self._round() else RETRY_SECONDS):
            pass

    def _round(self) -> bool:
        """The days ahead made, then one prune of everything past the retention; False when the
        database failed either."""
        retention = self._settings.retention
        try:
            with db.connect(
                self._database_url, timeout=STATEMENT_SECONDS, application_name=f"{db.APPLICATION_NAME} pruner"
            ) as conn:
                made = partitions.ensure(conn)
                if made:
                    logger.info("made the partitions of %s more days", made)
                if retention is None:
                    return True
                before = datetime.now(UTC) - retention
                deleted = prune(conn, before=before, pause=PAUSE_SECONDS, stop=self._stopped)
        except psycopg.Error as exc:
            logger.warning("pruning failed, next try in %.0f s: %s", RETRY_SECONDS, str(exc).strip())
            return False
        logger.info("pruned %s finished events received before %s", deleted, before.isoformat(timespec="seconds"))
        return True
