#!/usr/bin/env bash
# Builds the site the way cargo-leptos would, without needing cargo-leptos:
# the hydrate bundle (wasm-bindgen + wasm-opt), the CSS and public files, and the server binary.
# Usage: scripts/build.sh [--release]   (the server in release mode; the wasm is always size-optimised)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
cd "$ROOT"
profile=dev; [[ "${1:-}" == --release ]] && profile=release
SITE="$ROOT/target/site"; PKG="$SITE/pkg"
mkdir -p "$PKG"

step "browser bundle (wasm32, hydrate)"
cargo build --lib --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --profile wasm-release ${WASM_STD_FLAGS[@]+"${WASM_STD_FLAGS[@]}"}
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/watershed.wasm"
if [[ ! -f "$PKG/.stamp" || "$wasm" -nt "$PKG/.stamp" ]]; then
  wasm-bindgen --target web --no-typescript --out-dir "$PKG" --out-name watershed "$wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$PKG/watershed_bg.wasm" -o "$PKG/watershed_bg.wasm"
  touch "$PKG/.stamp"
fi
cp style/main.css "$PKG/watershed.css"
cp -r public/. "$SITE/"

step "server ($profile)"
cargo build --bin watershed --features ssr --profile "$profile"
out=debug; [[ $profile == release ]] && out=release
ls -l "$PKG"/watershed_bg.wasm "$CARGO_TARGET_DIR/$out/watershed" | awk '{print $5, $9}'
