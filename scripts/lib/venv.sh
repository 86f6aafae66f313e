# Sourced by scripts/dev and scripts/test: create .venv in the checkout if there is none and
# install the project with the given extras. Re-installs only when setup.cfg changed. The
# checkout's root goes on the venv's path, for bench/ and scripts/ to reach tests/harness.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating $VENV" >&2
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    local stamp="$VENV/.installed-$extras"
    if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ]; then
        echo "installing webhook-server[$extras] into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$extras]"
        touch "$stamp"
    fi
    # The checkout itself on the venv's path: bench/ and scripts/ use the test harness
    # (tests/harness), which stays out of the wheel. First on the path, not appended as a plain
    # .pth line would be: a dependency that ships a top-level "tests" package of its own
    # (paddle-python-sdk does) would otherwise hide the checkout's.
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    printf 'import sys; sys.path.insert(0, %s)\n' "$("$VENV/bin/python" -c 'import sys; print(repr(sys.argv[1]))' "$ROOT")" \
        >"$site/webhook-server-checkout.pth"
}
