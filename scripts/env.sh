# Sourced by the other scripts: picks the toolchain and puts project-local tools on PATH.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
export PATH="$TOOLS/cargo/bin:$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The toolchain chosen by setup.sh: "rustup" (normal) or "debian" (std built from source for wasm).
WASM_STD_FLAGS=()
if [[ -f "$TOOLS/toolchain" && "$(cat "$TOOLS/toolchain")" == debian ]]; then
  export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
  # One toolchain, one target dir: the Debian compiler builds the server too.
  export CARGO_TARGET_DIR="$ROOT/target/debian"
  WASM_STD_FLAGS=(-Zbuild-std=std,panic_abort)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
