#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to build and test corosync-ts: the reference corosync
# 3.1.7 / libqb 2.0.6 stack (daemon, tools, C libraries for the reference programs), the namespace
# tooling the real-daemon tests use, a C toolchain for the N-API addon and the cross compilers of its
# prebuilt binaries (arm64 glibc, x64 musl), qemu-user and the arm64 C/C++ runtime to test the arm64
# one, Chromium for the browser test, pnpm, and the workspace's own dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  corosync corosync-vqsim libqb-dev libcmap-dev libquorum-dev libvotequorum-dev libsam-dev libcfg-dev libcpg-dev
  strace iproute2 util-linux procps psmisc
  gcc g++ make python3 pkg-config
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross musl-tools qemu-user
  chromium
)
PNPM_VERSION=9.15.9

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not root or no apt-get; make sure these are installed: ${APT_PACKAGES[*]}" >&2
fi

# The packages install corosync.service; nothing here may ever run a system corosync.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now corosync >/dev/null 2>&1 || true; fi

if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
pnpm install --frozen-lockfile
pnpm build
