#!/usr/bin/env bash
# Debian's headless Chromium for the browser tests (tests/browser): installed once, when
# /usr/bin/chromium is missing. Playwright drives it; Playwright's own browser download is
# never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version 2>/dev/null || echo "chromium installed at /usr/bin/chromium"
