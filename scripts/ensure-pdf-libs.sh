#!/usr/bin/env bash
# The PDFs (G702/G703, lien waivers, reports) are printed by WeasyPrint, which needs Pango from the
# system; the tests also turn PDF pages into PNGs with poppler's pdftoppm. This installs Debian's
# packages when either is missing.
set -euo pipefail
missing=()
if ! ldconfig -p 2>/dev/null | grep -q "libpango-1.0.so"; then missing+=(libpango-1.0-0); fi
if ! ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so"; then missing+=(libpangoft2-1.0-0); fi
if ! command -v pdftoppm >/dev/null; then missing+=(poppler-utils); fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "installing Debian's ${missing[*]} for the PDFs" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" fonts-dejavu-core >/dev/null
