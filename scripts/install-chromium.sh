#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test (e2e/browser drives /usr/bin/chromium with
# playwright-core; Playwright's own browser download does not work on a closed network).
#
# Idempotent: does nothing when /usr/bin/chromium is there; otherwise installs the Debian package,
# saying so, and fails saying what to do when it cannot (not root, no apt-get).
set -euo pipefail

bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$bin" ]; then
    echo "chromium: $("$bin" --version 2>/dev/null || echo "$bin")"
    exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "chromium: $bin is missing; run as root (or install sudo) to apt-get install chromium" >&2; exit 1; }
    sudo="sudo"
fi
command -v apt-get >/dev/null || { echo "chromium: $bin is missing and apt-get is not available; install Debian's chromium package" >&2; exit 1; }
echo "chromium: installing Debian's chromium (browser test of the dashboard)"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$bin" ] || { echo "chromium: installed, but $bin is still missing" >&2; exit 1; }
echo "chromium: $("$bin" --version 2>/dev/null || echo installed)"
