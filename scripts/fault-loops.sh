#!/usr/bin/env bash
# The crash tests with many more SIGKILL rounds than `npm test` runs: the log's appender
# (no acknowledged record lost, none duplicated, order kept), the state store's committer
# (always a whole commit at or after the last ack), and the stateful worker (state
# restored from the changelog, no input lost), and the log's corruption campaign (random
# flips, truncations and garbage in segment, index, checkpoint and __consumer_offsets
# files: every intact record served or a named refusal; its report line gives the case
# count and the seed). Bounded: each loop stops at its round count or its time budget,
# whichever comes first. Needs `npm run build` first.
#
#   scripts/fault-loops.sh [report.json]
set -uo pipefail
cd "$(dirname "$0")/.."
report=${1:-.ci/out/vitest-fault-loops.json}
mkdir -p "$(dirname "$report")"
export TRIBUTARY_FAULT_ROUNDS=${TRIBUTARY_FAULT_ROUNDS:-150}
export TRIBUTARY_FAULT_SECONDS=${TRIBUTARY_FAULT_SECONDS:-150}
export TRIBUTARY_WORKER_KILLS=${TRIBUTARY_WORKER_KILLS:-25}
export TRIBUTARY_CORRUPTION_CASES=${TRIBUTARY_CORRUPTION_CASES:-2000}
export TRIBUTARY_CORRUPTION_SECONDS=${TRIBUTARY_CORRUPTION_SECONDS:-240}
exec npx vitest run \
  packages/log/test/crash-recovery.test.ts \
  packages/log/test/corruption-campaign.test.ts \
  packages/state/test/crash-restore.test.ts \
  packages/streams/test/worker-crash-restore.test.ts \
  --reporter=default --reporter=json --outputFile.json="$report"
