#!/usr/bin/env bash
# The test command: set-up, build, every Rust test (SQLite always; PostgreSQL too when
# WATERSHED_TEST_POSTGRES_URL is set), then the end2end suite in headless Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

# Only what is missing: a machine may already have Node.js from elsewhere, whose npm Debian's
# npm package would conflict with.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if (( ${#missing[@]} )); then
  step "installing ${missing[*]} from Debian"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# tansu, a Kafka-compatible broker in Rust, for the end-to-end failover test: installed once
# with cargo into cargo's own bin directory (about 20 minutes on two cores).
if ! command -v tansu >/dev/null; then
  step "installing tansu 0.6 (Kafka-compatible broker for the failover test; once)"
  cargo install tansu --version 0.6.0 --locked --features dynostore
fi

# A virtualenv with PyPI's confluent-kafka and openlineage-python: the third-party clients the
# tests drive (the Rust failover test reads back through confluent-kafka too).
PYENV="$CARGO_TARGET_DIR/pyenv"
[[ -x "$PYENV/bin/python" ]] || python3 -m venv "$PYENV"
"$PYENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/tests/clients/requirements.txt"
export WATERSHED_TEST_PYTHON="$PYENV/bin/python"

bash "$ROOT/scripts/build.sh"

step "Rust tests"
if [[ -n "${WATERSHED_TEST_POSTGRES_URL:-}" ]]; then
  echo "storage and API tests run on SQLite and on PostgreSQL"
else
  echo "WATERSHED_TEST_POSTGRES_URL is not set: PostgreSQL variants are skipped"
fi
cargo test --workspace --features watershed/ssr

step "end2end (Playwright, system Chromium; hydrated and with JavaScript off)"
E2E_DIR="$CARGO_TARGET_DIR/e2e"
rm -rf "$E2E_DIR" && mkdir -p "$E2E_DIR"
PORT="${WATERSHED_E2E_PORT:-3400}"
export WATERSHED_ADMIN_PASSWORD="e2e-admin-password"
WATERSHED_DATA_DIR="$E2E_DIR/data" WATERSHED_ADDR="127.0.0.1:$PORT" WATERSHED_SITE_ROOT="$ROOT/target/site" \
  WATERSHED_SEED_DEMO=true "$CARGO_TARGET_DIR/debug/watershed" serve >"$E2E_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { cat "$E2E_DIR/server.log"; exit 1; }
  sleep 0.2
done
step "Schema Registry API with confluent-kafka, lineage with openlineage-python (PyPI clients)"
for client in confluent_registry openlineage_events; do
  "$PYENV/bin/python" "$ROOT/tests/clients/$client.py" "http://127.0.0.1:$PORT" "$WATERSHED_ADMIN_PASSWORD"
done

step "end2end (Playwright)"
cd "$ROOT/end2end"
[[ -d node_modules/@playwright/test ]] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
WATERSHED_E2E_URL="http://127.0.0.1:$PORT" npx playwright test
