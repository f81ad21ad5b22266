#!/usr/bin/env bash
# The run command: set-up, a release build, then the console at http://127.0.0.1:3000 on
# SQLite under ./data, with the demo dataset on first start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
bash "$ROOT/scripts/build.sh" --release
cd "$ROOT"
export WATERSHED_SEED_DEMO="${WATERSHED_SEED_DEMO:-true}"
exec "$CARGO_TARGET_DIR/release/watershed" serve "$@"
