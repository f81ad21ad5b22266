#!/usr/bin/env bash
# Installs what building Watershed needs, skipping what is already there: OpenSSL headers for
# librdkafka, the wasm32 target (rustup, or Debian's rustc-web + std source where rustup cannot
# fetch it), wasm-bindgen-cli at the version Cargo.lock pins, and wasm-opt from npm's binaryen.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$ROOT/.tools"
TOOLS="$ROOT/.tools"
SUDO=""
[[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && SUDO="sudo"
apt_install() {
  command -v apt-get >/dev/null || { echo "apt-get is missing: install $* by hand" >&2; exit 1; }
  if [[ ! -f "$TOOLS/.apt-updated" ]]; then $SUDO apt-get update -qq && touch "$TOOLS/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# 0. What the SDK's librdkafka build links: OpenSSL (TLS and SCRAM to brokers) found through
#    pkg-config. librdkafka itself and zlib are built from the sources their crates bundle.
if ! { command -v pkg-config >/dev/null && pkg-config --exists openssl; }; then
  echo "installing OpenSSL headers and pkg-config (for librdkafka's TLS and SCRAM)"
  apt_install libssl-dev pkg-config
fi

# 1. The wasm32 target.
if [[ ! -f "$TOOLS/toolchain" ]]; then
  if [[ "${WATERSHED_TOOLCHAIN:-}" != debian ]] && command -v rustup >/dev/null \
     && rustup target add wasm32-unknown-unknown >/dev/null 2>&1 \
     && rustup target list --installed | grep -q wasm32-unknown-unknown; then
    echo rustup > "$TOOLS/toolchain"
  else
    echo "rustup cannot provide wasm32-unknown-unknown here; using Debian's rustc-web and building std for wasm"
    [[ -x /usr/bin/rustc && -d /usr/lib/rustlib/src ]] && command -v wasm-ld >/dev/null \
      || apt_install rustc-web cargo-web rust-web-src lld
    echo debian > "$TOOLS/toolchain"
  fi
fi
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
echo "toolchain: $(cat "$TOOLS/toolchain") ($(rustc --version))"

# 2. wasm-bindgen-cli, exactly the version in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  step "installing wasm-bindgen-cli $want (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$want" --root "$TOOLS/cargo" 
fi

# 3. wasm-opt from npm's binaryen (Debian's is too old: its output breaks hydration).
if [[ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]]; then
  command -v npm >/dev/null || apt_install nodejs npm
  step "installing binaryen (wasm-opt) from npm"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund --prefix "$TOOLS" binaryen@132 >/dev/null)
fi
echo "tools ready: $(wasm-bindgen --version), wasm-opt $(wasm-opt --version | awk '{print $3}')"
