#!/usr/bin/env bash
# Runs every test of the project and ends with one plain line: "N passed, M failed".
#
#   1. checks for Debian's python3-pika (installs it when running as root, else says how);
#   2. installs node modules when missing, builds (tsc: the typecheck);
#   3. vitest: unit, property, fuzz, wire, integration and store tests, then the SIGKILL crash test
#      (20 cycles; CRASH_CYCLES=N for more);
#   4. the conformance suite (amqplib + pika) against bin/amqpd on a free port.
#
# The counts of vitest and of the conformance runner are added up; the exit code is non-zero when
# anything failed or a stage could not run.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
if ! "$PY" -c 'import pika' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "python3-pika missing: installing it with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pika >/dev/null
  fi
  if ! "$PY" -c 'import pika' 2>/dev/null; then
    echo "pika not found: run 'sudo apt-get install -y python3-pika', then run this again"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

[ -d node_modules ] || npm install --no-audit --no-fund

failed_stages=0
echo "== build (tsc)"
if ! npm run build --silent; then
  echo "build failed"
  failed_stages=$((failed_stages + 1))
fi

echo "== vitest"
report=$(mktemp -t amqpd-vitest-XXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest_rc=$?
read -r v_pass v_fail <<<"$(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) + (r.numFailedTestSuites && !r.numFailedTests ? r.numFailedTestSuites : 0));
  } catch { console.log("0 1"); }' "$report")"
rm -f "$report"
if [ "$vitest_rc" != 0 ] && [ "$v_fail" = 0 ]; then v_fail=1; fi

echo "== crash test (SIGKILL cycles, seed printed)"
k_pass=0; k_fail=0
if node test/crash/run.mjs --cycles "${CRASH_CYCLES:-20}"; then k_pass=1; else k_fail=1; fi

echo "== conformance"
conf_out=$(mktemp -t amqpd-conf-XXXX.log)
node conformance/run.mjs 2>&1 | tee "$conf_out"
conf_rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$conf_out" | tail -1)
rm -f "$conf_out"
c_pass=$(echo "$line" | sed -nE 's/^([0-9]+) passed.*/\1/p'); c_pass=${c_pass:-0}
c_fail=$(echo "$line" | sed -nE 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/p'); c_fail=${c_fail:-1}
if [ "$conf_rc" != 0 ] && [ "$c_fail" = 0 ]; then c_fail=1; fi

passed=$((v_pass + k_pass + c_pass))
failed=$((v_fail + k_fail + c_fail + failed_stages))
echo
echo "vitest: $v_pass passed, $v_fail failed; crash: $k_pass passed, $k_fail failed; conformance: $c_pass passed, $c_fail failed"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
