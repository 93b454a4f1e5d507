#!/usr/bin/env bash
# The test command (`npm test`). It runs on the Node that npm scripts put first on the PATH: the
# project's own `node` devDependency (24.x), whatever `node` the machine has. TEST_NODE_BIN, a
# directory holding another `node`, runs the same suite on that Node instead (.ci/run uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
# Run directly (not through npm), the project's own Node still comes first.
export PATH="$PWD/node_modules/.bin:$PATH"
if [ -n "${TEST_NODE_BIN:-}" ]; then
  export PATH="$TEST_NODE_BIN:$PATH"
fi
echo "vitest on Node $(node --version)"
exec node node_modules/vitest/vitest.mjs run "$@"
