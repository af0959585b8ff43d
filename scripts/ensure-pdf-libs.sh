#!/usr/bin/env bash
# The PDFs (G702/G703, lien waivers, reports) are printed by WeasyPrint, which needs from the
# system: Pango; HarfBuzz's subsetter, which cuts each font down to the letters a paper uses (in
# its absence WeasyPrint does it with fontTools, in Python, for nearly twice the CPU of a
# certificate); and the fonts the papers are set in, Liberation Sans and Mono, with DejaVu for any
# letter they lack. The tests also turn PDF pages into PNGs with poppler's pdftoppm. This installs
# Debian's packages for whatever is missing; the Dockerfile installs the same.
set -euo pipefail
missing=()
has_library() { ldconfig -p 2>/dev/null | grep -q "$1"; }
families="$(fc-list : family 2>/dev/null || true)"
has_font() { grep -qE "(^|,)$1(,|$)" <<<"$families"; }
has_library "libpango-1.0.so" || missing+=(libpango-1.0-0)
has_library "libpangoft2-1.0.so" || missing+=(libpangoft2-1.0-0)
has_library "libharfbuzz-subset.so.0" || missing+=(libharfbuzz-subset0)
{ has_font "Liberation Sans" && has_font "Liberation Mono"; } || missing+=(fonts-liberation fontconfig)
has_font "DejaVu Sans" || missing+=(fonts-dejavu-core fontconfig)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "installing Debian's ${missing[*]} for the PDFs" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
