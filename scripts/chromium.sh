#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser test (packages/console/test), unless
# /usr/bin/chromium is already there. Needs root (CI runs as root on its machine). The
# browser comes from the system packages, never from a download of playwright's own.
#
#   scripts/chromium.sh
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/chromium.sh: /usr/bin/chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
