#!/usr/bin/env bash
# Installs everything auditor needs on a fresh Debian/Ubuntu machine: system libraries for
# WeasyPrint (Pango) and, with --test, Chromium for the browser rendering test; then a virtual
# environment with auditor and its test tools. Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

apt_install() {
    # Installs Debian packages when apt-get is available and we may use it; otherwise says what
    # to install by hand.
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: apt-get not found; install $* with your package manager" >&2
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            echo "setup: not root; install $* (apt-get install $*)" >&2
            return 0
        fi
    fi
    if [ ! -f /tmp/.auditor-apt-updated ]; then
        $sudo apt-get update -qq >/dev/null && touch /tmp/.auditor-apt-updated
    fi
    # debconf's "delaying package configuration" notice is noise; other messages still show.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null 2> >(grep -v '^debconf: ' >&2)
}

# WeasyPrint renders PDFs with Pango; fonts-dejavu gives the report its fonts.
if ! ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || ! ldconfig -p | grep -q 'libpangoft2-1.0.so'; then
    echo "setup: installing Pango for WeasyPrint" >&2
    apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
fi
if [ "$WITH_TEST" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing Chromium for the browser rendering test" >&2
    apt_install chromium || echo "setup: Chromium could not be installed; the browser test will be skipped" >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.auditor-installed"
hash="$(sha256sum pyproject.toml | cut -c1-16)"
want="$hash-$WITH_TEST"
have="$(cat "$stamp" 2>/dev/null || true)"
# An install with the test tools also serves `make sample`: alternating the two installs nothing.
if [ "$have" != "$want" ] && [ "$have" != "$hash-1" ]; then
    echo "setup: installing auditor and its dependencies into $VENV (about a minute)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    extra=""
    [ "$WITH_TEST" = 1 ] && extra="[dev]"
    "$VENV/bin/python" -m pip install -q -e ".$extra" 2>&1 | grep -v '^WARNING: Location' || true
    "$VENV/bin/python" -c "from auditor.loading.keras_env import import_keras; import_keras(); import weasyprint" \
        || { echo "setup: installation failed" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
