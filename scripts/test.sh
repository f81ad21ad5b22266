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

# Test brokers need no top speed: they are built at opt-level 1 without LTO (a fraction of a
# release build's time on two cores); overflow checks stay off as in the crates' own release.
test_broker_profile=(CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false)

# tansu, a Kafka-compatible broker in Rust, for the end-to-end tests: installed once with cargo
# into cargo's own bin directory. In-memory storage for most tests; SQLite storage (libsql) for
# the SCRAM test, whose users must outlive a restart. Cargo does nothing when this version is
# installed with these features, and rebuilds when not.
step "tansu 0.6 (Kafka-compatible broker for the end-to-end tests; built once)"
env "${test_broker_profile[@]}" cargo install tansu --version 0.6.0 --locked --features dynostore,libsql

# The rocketmq-rust project's name server and broker, for the RocketMQ end-to-end tests:
# installed once into cargo's bin directory like tansu.
step "rocketmq-rust 1.0 name server and broker (for the RocketMQ end-to-end tests; built once)"
env "${test_broker_profile[@]}" cargo install rocketmq-namesrv rocketmq-broker --version 1.0.0 --locked

# A virtualenv with PyPI's confluent-kafka and openlineage-python: the third-party clients the
# tests drive (the Rust failover test reads back through confluent-kafka too).
PYENV="$CARGO_TARGET_DIR/pyenv"
[[ -x "$PYENV/bin/python" ]] || python3 -m venv "$PYENV"
"$PYENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/tests/clients/requirements.txt"
export WATERSHED_TEST_PYTHON="$PYENV/bin/python"

bash "$ROOT/scripts/build.sh"

# The end2end packages: Playwright, axe-core, and oidc-provider, the OpenID provider the single
# sign-on tests (Rust and Playwright) sign in at.
step "end2end packages (npm ci)"
if [[ ! -d "$ROOT/end2end/node_modules/@playwright/test" || ! -d "$ROOT/end2end/node_modules/oidc-provider" ]]; then
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

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
# Starts the built server with the demo data under DIR on PORT (extra VAR=value settings
# after them), waits until it is ready, and leaves its process id in SERVED.
serve_demo() {
  local dir=$1 port=$2
  shift 2
  env "$@" WATERSHED_DATA_DIR="$dir/data" WATERSHED_ADDR="127.0.0.1:$port" \
    WATERSHED_SITE_ROOT="$ROOT/target/site" WATERSHED_SEED_DEMO=true \
    "$CARGO_TARGET_DIR/debug/watershed" serve >"$dir/server.log" 2>&1 &
  SERVED=$!
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 $SERVED 2>/dev/null || { cat "$dir/server.log"; exit 1; }
    sleep 0.2
  done
}
# A real OpenID provider (npm's oidc-provider) on loopback, with two users in different groups
# (end2end/oidc/provider.mjs): the single sign-on spec signs in through its own login page.
OIDC_PORT="${WATERSHED_E2E_OIDC_PORT:-3402}"
node "$ROOT/end2end/oidc/provider.mjs" "$OIDC_PORT" "http://127.0.0.1:$PORT/auth/oidc/callback" \
  >"$E2E_DIR/oidc.log" 2>&1 &
OIDC=$!
trap 'kill $OIDC 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^ready' "$E2E_DIR/oidc.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '^ready' "$E2E_DIR/oidc.log" || { cat "$E2E_DIR/oidc.log"; exit 1; }
# The specs sign in afresh for every test, all from one address: more than a person would.
# Password sign-in stays open to everyone (the other specs use the demo's local accounts).
serve_demo "$E2E_DIR" "$PORT" WATERSHED_SIGN_IN_PER_MINUTE=600 \
  WATERSHED_OIDC_ISSUER="http://127.0.0.1:$OIDC_PORT" WATERSHED_OIDC_CLIENT_ID=watershed \
  WATERSHED_OIDC_CLIENT_SECRET=watershed-client-secret WATERSHED_OIDC_NAME="Test ID" \
  WATERSHED_OIDC_REDIRECT_URL="http://127.0.0.1:$PORT/auth/oidc/callback" \
  WATERSHED_OIDC_ROLE_GROUPS="data-developers=developer" WATERSHED_OIDC_DEFAULT_ROLE=viewer \
  WATERSHED_OIDC_PROJECT_GROUPS="data-{project}-owners=owner,data-{project}-members=member"
SERVER=$SERVED
trap 'kill $SERVER $OIDC 2>/dev/null || true' EXIT
step "Schema Registry API with confluent-kafka (Avro, JSON Schema, Protobuf), lineage with openlineage-python (PyPI clients)"
for client in confluent_registry confluent_protobuf openlineage_events; do
  "$PYENV/bin/python" "$ROOT/tests/clients/$client.py" "http://127.0.0.1:$PORT" "$WATERSHED_ADMIN_PASSWORD"
done

step "Messages to peek at: a local tansu broker, orders written with confluent-kafka's AvroSerializer"
PEEK_BROKER_PORT=$("$PYENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tansu --listener-url "tcp://127.0.0.1:$PEEK_BROKER_PORT" --advertised-listener-url "tcp://127.0.0.1:$PEEK_BROKER_PORT" \
  --storage-engine memory://tansu/ --cluster-id peek >"$E2E_DIR/tansu.log" 2>&1 &
PEEK_BROKER=$!
trap 'kill $SERVER $OIDC $PEEK_BROKER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PEEK_BROKER_PORT") 2>/dev/null && break
  sleep 0.1
done
"$PYENV/bin/python" "$ROOT/tests/clients/peek_seed.py" "http://127.0.0.1:$PORT" "$WATERSHED_ADMIN_PASSWORD" \
  "127.0.0.1:$PEEK_BROKER_PORT"
export WATERSHED_E2E_PEEK=1

step "Hostile suite: schemathesis fuzzes every /api/v1 operation of the OpenAPI document"
# A server of its own, so fuzzed data stays out of the end2end run. It talks to no broker
# (provisioning and polling off). Left out: operations that make the server connect to
# addresses the fuzzer chose (cluster registration, topic import, webhooks), so the fuzzer
# cannot turn the server into a client of arbitrary hosts, and those that ask a cluster's
# brokers (health, topics, a queue's messages and their download), whose documented answer
# here, where the demo clusters have no brokers, is 503 naming the cluster.
FUZZ_DIR="$CARGO_TARGET_DIR/fuzz"
rm -rf "$FUZZ_DIR" && mkdir -p "$FUZZ_DIR"
FUZZ_PORT="${WATERSHED_FUZZ_PORT:-3401}"
serve_demo "$FUZZ_DIR" "$FUZZ_PORT" WATERSHED_PROVISION_TOPICS=false WATERSHED_KAFKA_POLL_SECS=0
FUZZ_SERVER=$SERVED
trap 'kill $SERVER $OIDC $FUZZ_SERVER $PEEK_BROKER 2>/dev/null || true' EXIT
FUZZ_TOKEN=$(cd "$ROOT/tests/clients" && "$PYENV/bin/python" -c \
  'import sys; from session import Session; print(Session(sys.argv[1], sys.argv[2]).token("fuzz"))' \
  "http://127.0.0.1:$FUZZ_PORT" "$WATERSHED_ADMIN_PASSWORD")
"$PYENV/bin/schemathesis" run "http://127.0.0.1:$FUZZ_PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer $FUZZ_TOKEN" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --exclude-operation-id-regex '^(create_cluster|update_cluster|import|set_webhook|health|topics|peek_messages|download_messages)$' \
  --phases examples,coverage,fuzzing --max-time "${WATERSHED_FUZZ_SECS:-150}" --workers 1 --seed 1 \
  --suppress-health-check all --warnings off --no-color
kill $FUZZ_SERVER 2>/dev/null || true
if grep -q "panicked" "$FUZZ_DIR/server.log"; then
  echo "the fuzzed server panicked:"; grep -A5 panicked "$FUZZ_DIR/server.log"; exit 1
fi

step "end2end (Playwright)"
cd "$ROOT/end2end"
WATERSHED_E2E_URL="http://127.0.0.1:$PORT" npx playwright test

step "No consumer group on the peek broker after the console's looks (its own group list)"
"$PYENV/bin/python" "$ROOT/tests/clients/peek_groups.py" "127.0.0.1:$PEEK_BROKER_PORT"
