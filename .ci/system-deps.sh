#!/usr/bin/env bash
# System packages the tests need, from Debian's archive (the only registry besides npm here):
#  - chromium: the search environment's browser tools and the eval report's rendering test drive it
#    through playwright-core (never a browser download);
#  - Mesa >= 25 (lavapipe, software Vulkan) from bookworm-backports: Dawn rejects Debian 12's Mesa 22,
#    and the WebGPU kernel tests must run on a real adapter in CI;
#  - haproxy (2.6): the scale-out test and bench put `gym serve` replicas behind a real load balancer;
#  - build tools for the native modules npm ci compiles (isolated-vm, better-sqlite3).
# Idempotent: safe to run on a machine that already has them.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'bookworm-backports' "$src"; then
  $SUDO sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$src"
fi
need=()
command -v chromium >/dev/null || need+=(chromium)
mesa_ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
command -v haproxy >/dev/null || need+=(haproxy)
command -v g++ >/dev/null && command -v make >/dev/null && command -v python3 >/dev/null || need+=(build)
case "$mesa_ver" in 2[5-9]*|[3-9][0-9]*) ;; *) need+=(mesa) ;; esac
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  if printf '%s\n' "${need[@]}" | grep -qx chromium; then
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  if printf '%s\n' "${need[@]}" | grep -qx haproxy; then
    $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null
  fi
  if printf '%s\n' "${need[@]}" | grep -qx build; then
    $SUDO apt-get install -y -qq --no-install-recommends g++ make python3 >/dev/null
  fi
  if printf '%s\n' "${need[@]}" | grep -qx mesa; then
    $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
fi
echo "system deps: chromium=$(chromium --version 2>/dev/null | head -1) mesa-vulkan=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) haproxy=$(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f3)"
