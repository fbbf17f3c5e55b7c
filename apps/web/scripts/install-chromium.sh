#!/usr/bin/env bash
# Installs Debian's Chromium for the web app's browser tests (apps/web/test).
# playwright-core drives it at /usr/bin/chromium; never `playwright install`.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
