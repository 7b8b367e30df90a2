#!/usr/bin/env bash
# Debian's Chromium for the audit console's browser tests (Playwright drives it through
# executable_path: Playwright's own browser download does not work on these machines).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
test -x /usr/bin/chromium
