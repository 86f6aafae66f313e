"""podman for the tests: the image built from the checkout, containers of it, and their cleanup.

How containers run on the CI machines (../shared/notes/containers.md): no registry of images is
reachable, so the bases are made from Debian's packages with mmdebstrap and kept in podman's
own store under a tag that names their package list (a machine pays for them once, about a
minute); pip has no index inside a build, so the builder stage installs from a wheelhouse the
host's pip fills (kept in the cache directory, keyed by setup.cfg); the kernel may refuse the
rlimits podman sets, and then every podman call goes through ``oci_runtime.py``. Containers
reach the host's loopback (the tests' Postgres) as ``HOST_LOOPBACK`` through slirp4netns, and
publish their port on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port

PODMAN = shutil.which("podman") or "/usr/bin/podman"
MMDEBSTRAP = shutil.which("mmdebstrap") or "/usr/bin/mmdebstrap"
CHECKOUT = Path(__file__).resolve().parents[2]
DOCKERFILE = CHECKOUT / "deploy" / "container" / "Dockerfile"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "webhook-server" / "containers"
# The Debian release the bases come from, and its Python: the host's pip fetches the wheels for
# its own Python, so the two must match.
SUITE = "bookworm"
SUITE_PYTHON = (3, 11)
RUNTIME_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BUILDER_PACKAGES = (*RUNTIME_PACKAGES, "python3-dev", "gcc", "libc6-dev")
# Left out of the bases: a container reads no manual.
BASE_EXCLUDES = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*")
# slirp4netns' address for the host's own loopback, where the tests' Postgres listens.
NETWORK = "slirp4netns:allow_host_loopback=true"
HOST_LOOPBACK = "10.0.2.2"
RLIMIT_REFUSAL = "error setting rlimit"
LABEL = "webhook-server-tests"
BUILD_TIMEOUT_SECONDS = 600
COMMAND_TIMEOUT_SECONDS = 60
BOOT_TIMEOUT_SECONDS = 30
# Inside the image (deploy/container/Dockerfile).
CONTAINER_PORT = 8000
SPOOL_PATH = "/var/lib/webhook-server/spool"
IMAGE_UID = 10001


class Podman:
    """podman, with the rlimit-free runtime when this kernel needs it (decided once, by trying)."""

    def __init__(self, runtime: Path | None) -> None:
        self.runtime = runtime

    def command(self, *args: str) -> list[str]:
        runtime = ["--runtime", str(self.runtime)] if self.runtime else []
        return [PODMAN, *runtime, *args]

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True) -> str:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited with {done.returncode}:\n{done.stderr[-5000:]}")
        return done.stdout

    def image_exists(self, name: str) -> bool:
        return subprocess.run(self.command("image", "exists", name), timeout=COMMAND_TIMEOUT_SECONDS).returncode == 0


def podman_for(probe_image: str, cache: Path = CACHE) -> Podman:
    """Plain podman if a container starts with it; else through ``oci_runtime.py``."""
    plain = Podman(None)
    done = subprocess.run(
        plain.command("run", "--rm", "--network", "none", probe_image, "true"),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    if done.returncode == 0:
        return plain
    if RLIMIT_REFUSAL not in done.stderr:
        raise AssertionError(f"podman cannot start a container here:\n{done.stderr[-5000:]}")
    cache.mkdir(parents=True, exist_ok=True)
    wrapper = cache / "runc-without-rlimits"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("oci_runtime.py")}" "$@"\n')
    wrapper.chmod(0o755)
    return Podman(wrapper)


def base_image(packages: Sequence[str], cache: Path = CACHE) -> str:
    """A Debian image with ``packages``, made with mmdebstrap the first time on this machine."""
    digest = hashlib.sha256(" ".join((SUITE, *packages, *BASE_EXCLUDES)).encode()).hexdigest()[:12]
    name = f"localhost/webhook-server-test-base:{SUITE}-{digest}"
    podman = Podman(None)  # importing runs no container
    if podman.image_exists(name):
        return name
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"base-{digest}.tar"
    if not tarball.exists():
        partial = tarball.with_suffix(".partial.tar")
        excludes = [f"--dpkgopt=path-exclude={pattern}" for pattern in BASE_EXCLUDES]
        subprocess.run(
            [
                MMDEBSTRAP,
                "--variant=minbase",
                "--format=tar",
                f"--include={','.join(packages)}",
                *excludes,
                SUITE,
                str(partial),
            ],
            check=True,
            capture_output=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        partial.rename(tarball)
    podman.run("import", str(tarball), name, timeout=BUILD_TIMEOUT_SECONDS)
    return name


def wheelhouse(cache: Path = CACHE) -> Path:
    """Every wheel the build needs, fetched by the host's pip; gunicorn_h1c as its source, so
    that the builder stage compiles it as it does for users."""
    if sys.version_info[:2] != SUITE_PYTHON:
        wanted, running = ".".join(map(str, SUITE_PYTHON)), ".".join(map(str, sys.version_info[:2]))
        raise AssertionError(
            f"the container tests build on Debian {SUITE}'s Python {wanted} with wheels this Python's pip "
            f"fetches ({running}): run them from a venv of Python {wanted}"
        )
    setup = (CHECKOUT / "setup.cfg").read_bytes() + (CHECKOUT / "pyproject.toml").read_bytes()
    directory = cache / f"wheelhouse-{hashlib.sha256(setup).hexdigest()[:12]}"
    if directory.is_dir():
        return directory
    partial = directory.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(partial),
            "--no-binary",
            "gunicorn_h1c",
            str(CHECKOUT),
            "setuptools>=77",
            "wheel",
        ],
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    partial.rename(directory)
    return directory


@dataclass(frozen=True)
class Images:
    """What the container tests run: podman as this machine needs it, and the image built from the checkout."""

    podman: Podman
    image: str
    build_seconds: float


def build_image(tag: str = "localhost/webhook-server:test", cache: Path = CACHE) -> Images:
    """Build deploy/container/Dockerfile from the checkout, offline, on the Debian bases.

    ``--format docker`` keeps the HEALTHCHECK (the OCI image format has no field for it).
    """
    runtime_base = base_image(RUNTIME_PACKAGES, cache)
    builder_base = base_image(BUILDER_PACKAGES, cache)
    podman = podman_for(runtime_base, cache)
    previous = podman.run("images", "--quiet", tag, check=False).strip()
    dangling_before = set(podman.run("images", "--quiet", "--filter", "dangling=true").split())
    started = time.monotonic()
    podman.run(
        "build", "--format", "docker", "--file", str(DOCKERFILE), "--tag", tag,
        "--build-arg", f"BASE_IMAGE={runtime_base}", "--build-arg", f"BUILDER_IMAGE={builder_base}",
        "--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/wheelhouse",
        "--volume", f"{wheelhouse(cache)}:/wheelhouse:ro",
        str(CHECKOUT),
        timeout=BUILD_TIMEOUT_SECONDS,
    )  # fmt: skip
    seconds = time.monotonic() - started
    # The last run's image, now untagged, and this build's builder stage (a few hundred MB each).
    left = set(podman.run("images", "--quiet", "--filter", "dangling=true").split()) - dangling_before
    current = podman.run("images", "--quiet", tag).strip()
    for image in sorted(left | ({previous} - {"", current})):
        podman.run("rmi", image, check=False)
    return Images(podman, tag, seconds)


def container_url(database_url: str) -> str:
    """The tests' Postgres URL as a container sees it: the host's loopback through slirp4netns."""
    return database_url.replace("@127.0.0.1:", f"@{HOST_LOOPBACK}:")


@dataclass
class Container:
    """One container of the image, its port published on 127.0.0.1; removed with ``remove``."""

    podman: Podman
    name: str
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        done = subprocess.run(self.podman.command("logs", self.name), capture_output=True, text=True, timeout=30)
        return (done.stdout + done.stderr)[-5000:]

    def state(self) -> dict:
        return json.loads(self.podman.run("inspect", "--type", "container", self.name))[0]["State"]

    def wait_until_healthy(self, timeout: float = BOOT_TIMEOUT_SECONDS) -> None:
        def healthy() -> bool:
            if self.state()["Status"] == "exited":
                raise AssertionError(f"container {self.name} exited:\n{self.logs()}")
            try:
                return requests.get(self.url("/health"), timeout=1).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_for(healthy, timeout, lambda: f"container {self.name} healthy:\n{self.logs()}")

    def stop(self, kill_after: float = 10) -> float:
        """``podman stop -t``: SIGTERM, SIGKILL ``kill_after`` s later; returns the seconds until it exited."""
        started = time.monotonic()
        self.podman.run("stop", "--time", str(int(kill_after)), self.name, timeout=kill_after + 30)
        return time.monotonic() - started

    def exit_code(self) -> int:
        return int(self.state()["ExitCode"])

    def finished_at(self) -> float:
        """When its PID 1 exited (the runtime's record), in seconds since the epoch."""
        # RFC 3339 with nanoseconds; datetime takes microseconds.
        stamp = re.sub(r"(\.\d{6})\d*", r"\1", self.state()["FinishedAt"])
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    def run_arguments(
        self,
        image: str,
        *command: str,
        env: dict[str, str] | None = None,
        volumes: Sequence[str] = (),
        container_port: int = CONTAINER_PORT,
    ) -> list[str]:
        """podman's arguments that start this container (again, once the old one is removed)."""
        options = ["--name", self.name, "--label", LABEL, "--network", NETWORK]
        options += ["--publish", f"127.0.0.1:{self.port}:{container_port}"]
        for key, value in (env or {}).items():
            options += ["--env", f"{key}={value}"]
        for volume in volumes:
            options += ["--volume", volume]
        return ["run", "--detach", *options, image, *command]

    def remove(self) -> None:
        self.podman.run("rm", "--force", "--volumes", "--time", "0", self.name, check=False)


@contextlib.contextmanager
def containers(podman: Podman, image: str) -> Iterator[Callable[..., Container]]:
    """Start containers of ``image`` (``start(*command, env=…, volumes=…)``); all removed afterwards."""
    started: list[Container] = []

    def start(
        *command: str,
        env: dict[str, str] | None = None,
        volumes: Sequence[str] = (),
        port: int | None = None,
        container_port: int = CONTAINER_PORT,
    ) -> Container:
        container = Container(podman, f"webhook-test-{secrets.token_hex(4)}", port or free_port())
        started.append(container)
        arguments = container.run_arguments(image, *command, env=env, volumes=volumes, container_port=container_port)
        podman.run(*arguments)
        return container

    try:
        yield start
    finally:
        for container in started:
            container.remove()


def run_once(
    podman: Podman,
    image: str,
    *command: str,
    env: dict[str, str] | None = None,
    volumes: Sequence[str] = (),
    entrypoint: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``podman run --rm``: a one-shot command of the image (migrate, check), its output captured."""
    options = ["--rm", "--label", LABEL, "--network", NETWORK]
    for key, value in (env or {}).items():
        options += ["--env", f"{key}={value}"]
    for volume in volumes:
        options += ["--volume", volume]
    if entrypoint is not None:
        options += ["--entrypoint", entrypoint]
    return subprocess.run(
        podman.command("run", *options, image, *command),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
