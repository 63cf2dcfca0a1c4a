#!/usr/bin/env bash
# Debian's Chromium for the kiosk page test (Playwright drives it; it never downloads a browser).
# Idempotent: does nothing when /usr/bin/chromium is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "install-browser: chromium already installed"
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "install-browser: installed $(chromium --version)"
