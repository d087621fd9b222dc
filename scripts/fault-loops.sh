#!/usr/bin/env bash
# The crash and fault tests with many more rounds than `npm test` runs:
# - the log's appender under SIGKILL (no acknowledged record lost, none duplicated, order
#   kept) and the corruption campaign (random flips, truncations and garbage in segment,
#   index, checkpoint and __consumer_offsets files: every intact record served or a named
#   refusal; its report line gives the case count and the seed);
# - rounds of filling a real tmpfs under a partition and freeing it (nothing of a failed
#   append stored, every acknowledged record kept in order; needs root to mount);
# - an idempotent producer while the broker is SIGKILLed and restarted (every acked record
#   stored exactly once, in order; TRIBUTARY_PRODUCER_KILLS kills, 1,500 records each);
# - the state store's committer (always a whole commit at or after the last ack);
# - the stateful worker (state restored from the changelog, no input lost) and word-count
#   workers killed in turn (they repeat no more than their uncommitted tails);
# - the broker against hostile clients at the issue's size (20,000 idle and 5,000
#   never-handshaking connections, one client that never reads; `npm test` runs 2,000/500);
# - Kafka's streams_eos_test: three `tributary run` workers SIGKILLed in rotation under
#   exactly-once, TRIBUTARY_EOS_KILLS kills, on the embedded log, and on Kafka too when
#   TRIBUTARY_KAFKA_BROKERS names a broker (scripts/kafka.sh start);
# - a database replicated through the log while its source and sink workers are SIGKILLed
#   and PostgreSQL restarts (needs TRIBUTARY_PG_URL from scripts/postgres.sh start, or
#   starts its own cluster).
# Bounded: each loop stops at its round count or its time budget, whichever comes first.
# Needs `npm run build` first.
#
#   scripts/fault-loops.sh [report.json]
set -uo pipefail
cd "$(dirname "$0")/.."
report=${1:-.ci/out/vitest-fault-loops.json}
mkdir -p "$(dirname "$report")"
export TRIBUTARY_FAULT_ROUNDS=${TRIBUTARY_FAULT_ROUNDS:-150}
export TRIBUTARY_FAULT_SECONDS=${TRIBUTARY_FAULT_SECONDS:-150}
export TRIBUTARY_PRODUCER_KILLS=${TRIBUTARY_PRODUCER_KILLS:-25}
export TRIBUTARY_WORKER_KILLS=${TRIBUTARY_WORKER_KILLS:-25}
export TRIBUTARY_HOSTILE_IDLE=${TRIBUTARY_HOSTILE_IDLE:-20000}
export TRIBUTARY_HOSTILE_UNAUTH=${TRIBUTARY_HOSTILE_UNAUTH:-5000}
export TRIBUTARY_FULL_DISK_ROUNDS=${TRIBUTARY_FULL_DISK_ROUNDS:-200}
export TRIBUTARY_CORRUPTION_CASES=${TRIBUTARY_CORRUPTION_CASES:-2000}
export TRIBUTARY_CORRUPTION_SECONDS=${TRIBUTARY_CORRUPTION_SECONDS:-240}
export TRIBUTARY_CONNECT_CHANGES=${TRIBUTARY_CONNECT_CHANGES:-30000}
export TRIBUTARY_CONNECT_KILLS=${TRIBUTARY_CONNECT_KILLS:-12}
export TRIBUTARY_CONNECT_RESTART_PG=${TRIBUTARY_CONNECT_RESTART_PG:-1}
export TRIBUTARY_EOS_KILLS=${TRIBUTARY_EOS_KILLS:-15}
kafka_tests=()
if [[ -n "${TRIBUTARY_KAFKA_BROKERS:-}" ]]; then
  kafka_tests+=(packages/kafka/test/kafka-exactly-once-workers-killed.test.ts)
fi
exec npx vitest run \
  packages/log/test/crash-recovery.test.ts \
  packages/log/test/corruption-campaign.test.ts \
  packages/log/test/full-disk-writes-resume.test.ts \
  packages/log/test/idempotent-producer-across-broker-kills.test.ts \
  packages/state/test/crash-restore.test.ts \
  packages/streams/test/worker-crash-restore.test.ts \
  packages/streams/test/worker-kill-repeats-only-uncommitted-tail.test.ts \
  packages/log/test/broker-hostile-clients.test.ts \
  packages/connect/test/db-replica-end-to-end.test.ts \
  packages/cli/test/exactly-once-workers-killed.test.ts \
  "${kafka_tests[@]}" \
  --reporter=default --reporter=json --outputFile.json="$report"
