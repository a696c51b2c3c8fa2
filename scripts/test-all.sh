#!/usr/bin/env bash
# Runs every test of the project and ends with one plain line, alone on its line:
#   N passed, M failed, K skipped
#
#   1. checks for Debian's python3-pika (installs it when running as root, else says how);
#   2. installs node modules when missing, builds (tsc: the typecheck);
#   1b. checks for Debian's chromium-headless-shell (the web UI's browser test; installed as root);
#   3. vitest: unit, property, fuzz, wire, integration, store and browser tests, counted from vitest's JSON
#      report (every test's status; a suite that failed to load counts as a failure);
#   4. the SIGKILL crash test (20 cycles; CRASH_CYCLES=N for more; with the dead-letter and delayed
#      topologies) and its can-fail runs against broken brokers;
#   5. the conformance suite (amqplib + pika) against bin/amqpd on a free port, TLS scenarios included
#      (the runner makes certificates with openssl and starts an amqps listener too).
#
# Each stage is one line: `stage NAME COMMAND...`. A stage whose output ends with a line
# "N passed, M failed[, K skipped]" adds those counts; any other stage counts as one check, passed
# when its exit code is 0. A stage that exits non-zero while reporting no failure counts one
# failure, so a crashed runner never reads as green. The exit code is non-zero when anything failed.
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
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
  fi
fi

# The browser test (test/browser/ui.test.ts) drives it; without it that test fails saying how to install it.
if [ ! -x /usr/bin/chromium-headless-shell ] && [ -z "${CHROMIUM_PATH:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "chromium-headless-shell missing: installing it with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null
fi

[ -d node_modules ] || npm install --no-audit --no-fund

total_pass=0
total_fail=0
total_skip=0
summary=()

# stage NAME COMMAND...: runs COMMAND (output shown as it comes), adds its counts to the totals.
stage() {
  local name=$1
  shift
  echo "== $name"
  local log rc line p f s
  log=$(mktemp -t amqpd-stage-XXXX.log)
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -1)
  rm -f "$log"
  if [ -n "$line" ]; then
    p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$line")
    f=$(sed -nE 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/p' <<<"$line")
    s=$(sed -nE 's/.*, ([0-9]+) skipped$/\1/p' <<<"$line")
    s=${s:-0}
  elif [ "$rc" = 0 ]; then
    p=1 f=0 s=0
  else
    p=0 f=1 s=0
  fi
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    echo "$name exited with $rc but reported no failure: counted as one"
    f=1
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  total_skip=$((total_skip + s))
  summary+=("$name: $p passed, $f failed, $s skipped")
}

# vitest with a JSON report; prints the counts line read from every test's own status.
run_vitest() {
  local report rc
  report=$(mktemp -t amqpd-vitest-XXXX.json)
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
  rc=$?
  node scripts/vitest-counts.mjs "$report"
  local crc=$?
  rm -f "$report"
  [ "$rc" = 0 ] && [ "$crc" = 0 ]
}

stage "build (tsc)" npm run build --silent
stage "lint (eslint)" npm run lint --silent
stage "lint (docker: dclint docker-compose.yml, dockerfilelint Dockerfile)" npm run lint:docker --silent
stage "vitest" run_vitest
# Ack and delivery-flag bounds under load: see README "Durability" (acks of a saturated broker).
stage "crash test (SIGKILL cycles, seed printed)" node test/crash/run.mjs --cycles "${CRASH_CYCLES:-20}" --ack-bound-ms 1000 --flag-bound-ms 1500
stage "crash test can fail: acks forgotten" node test/crash/run.mjs --break forget-acks --expect-failure
stage "crash test can fail: confirms before the write" node test/crash/run.mjs --break confirm-early --expect-failure
stage "crash test can fail: delivery flags forgotten" node test/crash/run.mjs --break forget-deliveries --expect-failure
stage "crash test can fail: a dead-lettered message in both queues" node test/crash/run.mjs --break late-removals --expect-failure --cycles 30
stage "power cuts (strict loses nothing confirmed; can-fail stages)" node test/powercut/run.mjs --cycles 4 --ack-bound-ms 1000 --flag-bound-ms 1500
stage "conformance" node conformance/run.mjs

echo
for l in "${summary[@]}"; do echo "$l"; done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
