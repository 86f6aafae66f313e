"""An OCI runtime for machines whose kernel refuses rlimits in a new container: runc without them.

podman asks the runtime to set ``RLIMIT_NPROC`` (and others) in every container it starts, and
some kernels (this project's CI machines) refuse even the current value: ``podman run`` fails
with "error setting rlimit type 6: operation not permitted". This program takes the runtime's
arguments, removes ``process.rlimits`` from the bundle's ``config.json`` (``create``, ``run``)
or from the process file (``exec --process``), and execs runc with the same arguments. The
harness uses it only where a plain ``podman run`` fails that way; a real host needs none of it.
``podman --runtime`` takes one executable path, so containers.py writes a two-line shell script
that execs this file with the tests' Python.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def without_rlimits(spec_path: Path) -> None:
    """Rewrite the runtime spec (or an exec's process spec) without its rlimits."""
    spec = json.loads(spec_path.read_text())
    process = spec.get("process", spec)
    if process.pop("rlimits", None) is not None:
        spec_path.write_text(json.dumps(spec))


def spec_files(args: list[str]) -> list[Path]:
    """The spec files an invocation of the runtime names: the bundle's config.json, an exec's process file."""
    found = []
    for index, arg in enumerate(args):
        name, _, value = arg.partition("=")
        if not value and index + 1 < len(args):
            value = args[index + 1]
        if name in ("--bundle", "-b"):
            found.append(Path(value) / "config.json")
        elif name in ("--process", "-p"):
            found.append(Path(value))
    return found


def main() -> None:
    args = sys.argv[1:]
    for path in spec_files(args):
        if path.is_file():
            without_rlimits(path)
    runc = shutil.which("runc") or "/usr/sbin/runc"
    os.execv(runc, [runc, *args])


if __name__ == "__main__":
    main()
