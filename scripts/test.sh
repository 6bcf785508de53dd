#!/usr/bin/env bash
# The one test command (npm test): installs what the tests need, typechecks, builds the app,
# runs the unit/integration suite on real parts and the renderer end-to-end tests in Chromium,
# then prints one closing line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-packages.sh || { echo "could not install the test packages"; exit 1; }
[ -d node_modules ] || npm ci

fail=0
echo "== typecheck"; npx tsc --noEmit -p tsconfig.json || fail=1
echo "== build"; npx electron-vite build >/dev/null || { echo "electron-vite build failed"; fail=1; }
# the CLI tests run bin/flashline.js, which runs this bundle (out/cli) while it is current
node scripts/build-cli.mjs || { echo "CLI bundle build failed"; fail=1; }

echo "== vitest"
rm -f .vitest-report.json .pw-report.json
npx vitest run --reporter=default --reporter=json --outputFile=.vitest-report.json || fail=1

if [ -d test/e2e ] && ls test/e2e/*.spec.ts >/dev/null 2>&1; then
  echo "== playwright (Debian Chromium)"
  PLAYWRIGHT_JSON_OUTPUT_NAME=.pw-report.json npx playwright test --reporter=list,json || fail=1
fi

node -e '
const fs = require("fs")
let p = 0, f = 0, s = 0
if (fs.existsSync(".vitest-report.json")) {
  const v = JSON.parse(fs.readFileSync(".vitest-report.json", "utf8"))
  p += v.numPassedTests; s += v.numPendingTests + (v.numTodoTests || 0)
  // a file that fails to load has no failed test but fails the run
  f += v.numFailedTests || (v.success === false ? Math.max(1, v.numFailedTestSuites || 0) : 0)
} else f += 1
if (fs.existsSync(".pw-report.json")) {
  const w = JSON.parse(fs.readFileSync(".pw-report.json", "utf8"))
  p += w.stats.expected; f += w.stats.unexpected + w.stats.flaky; s += w.stats.skipped
}
console.log(`${p} passed, ${f} failed, ${s} skipped`)
process.exit(f ? 1 : 0)
' || fail=1
exit $fail
