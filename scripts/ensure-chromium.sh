#!/usr/bin/env bash
# The page tests drive a real Chromium (Playwright with Debian's chromium, no download of its
# own); this installs Debian's package when it is missing.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
echo "chromium not found; installing Debian's chromium package" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
