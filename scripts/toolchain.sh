#!/usr/bin/env bash
# Makes the toolchain that rust-toolchain.toml pins available under its version's name,
# where the machine's one toolchain is that version but rustup knows it only as
# `stable` (no other toolchain can be fetched here). Idempotent; changes nothing where
# the pinned toolchain is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
pinned=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if rustup run "$pinned" rustc --version >/dev/null 2>&1; then
    exit 0
fi
have=$(rustup run stable rustc --version | awk '{print $2}')
if [[ "$have" != "$pinned" ]]; then
    echo "scripts/toolchain.sh: rust-toolchain.toml pins $pinned, and this machine's stable is $have" >&2
    exit 1
fi
home=${RUSTUP_HOME:-$HOME/.rustup}
host=$(rustc +stable -vV | sed -n 's/^host: //p')
ln -sfn "$home/toolchains/stable-$host" "$home/toolchains/$pinned-$host"
echo "scripts/toolchain.sh: $pinned is this machine's stable toolchain" >&2
