#!/usr/bin/env bash
# Builds native-bindings/ with npm's bundled node-gyp against the running Node's own headers
# (--nodedir), so nothing is downloaded. Run through `npm run build:native` (npm puts its
# node-gyp on PATH for scripts).
set -euo pipefail
cd "$(dirname "$0")/../native-bindings"
nodedir="$(node -p "require('path').resolve(process.execPath, '../..')")"
node-gyp rebuild --nodedir="$nodedir" --loglevel=warn
