#!/usr/bin/env bash
# Debian packages the browser tests need: Chromium (Playwright drives it; its own
# browser download does not work offline) and a CJK font for Chinese text.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi 'wenquanyi\|wqy' || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -eq 0 ]; then echo "system packages present"; exit 0; fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "Please install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2; exit 1
fi
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
echo "installing ${missing[*]} ..."
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
