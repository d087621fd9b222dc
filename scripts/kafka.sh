#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) broker on loopback, for trying Tributary's Kafka mode
# and for the Kafka test suite.
#
#   scripts/kafka.sh start    fetch the broker jars (once), format a fresh log dir, start,
#                             wait until it serves, print the bootstrap address
#   scripts/kafka.sh stop     stop it cleanly (SIGTERM, then SIGKILL after a bounded wait)
#                             and delete its temp folder
#   scripts/kafka.sh status   print the bootstrap address and exit 0 if it runs, else exit 1
#   scripts/kafka.sh env      print `export VAR=value` lines for the running broker's secured
#                             listeners (below), for `eval "$(scripts/kafka.sh env)"`
#   scripts/kafka.sh topics ARGS   Kafka's own kafka-topics (TopicCommand) on the running
#                             broker, e.g. `topics --list`, `topics --describe --topic T`
#   scripts/kafka.sh groups ARGS   Kafka's kafka-consumer-groups, e.g. `groups --describe --group APP`
#                             (the tools jar is fetched with Maven on first use)
#
# The jars come from Maven Central through Maven (scripts/kafka/pom.xml) into
# ~/.cache/tributary/kafka-<version>/libs, so a second start needs no network. Nothing is
# downloaded from anywhere else. Every start formats a new cluster in a new temp folder:
# topics do not survive a stop.
#
# Besides the plaintext client port, the broker serves three secured listeners, for testing
# clients' SASL and TLS options (all on loopback, users and certificates throwaway):
#   PORT+2  SASL_PLAINTEXT  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
#   PORT+3  SASL_SSL        the same mechanisms over TLS
#   PORT+4  SSL             TLS that requires a client certificate (mutual TLS)
# One user, TRIBUTARY_KAFKA_SASL_USER / _PASSWORD (default tributary / tributary-secret), is
# known to all three mechanisms (SCRAM credentials stored at format time). Every start makes
# a new CA with openssl (EC keys: milliseconds); the server certificate is for 127.0.0.1 and
# localhost, the client certificate for CN=tributary-client. `env` prints their paths.
#
# Environment (all optional):
#   TRIBUTARY_KAFKA_VERSION   broker version (default 4.1.2, the newest line the Node client
#                             @platformatic/kafka supports)
#   TRIBUTARY_KAFKA_PORT      client port (default 19092); the controller listens on PORT+1,
#                             the secured listeners on PORT+2..PORT+4
#   TRIBUTARY_KAFKA_CACHE     jar cache (default ~/.cache/tributary/kafka-<version>)
#   TRIBUTARY_KAFKA_STATE     where the pid and address of the running broker are kept
#                             (default ${TMPDIR:-/tmp}/tributary-kafka-<uid>)
#   TRIBUTARY_KAFKA_HEAP      JVM heap (default 512m)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${TRIBUTARY_KAFKA_VERSION:-4.1.2}"
port="${TRIBUTARY_KAFKA_PORT:-19092}"
controller_port=$((port + 1))
sasl_port=$((port + 2))
sasl_ssl_port=$((port + 3))
mtls_port=$((port + 4))
sasl_user="${TRIBUTARY_KAFKA_SASL_USER:-tributary}"
sasl_password="${TRIBUTARY_KAFKA_SASL_PASSWORD:-tributary-secret}"
cache="${TRIBUTARY_KAFKA_CACHE:-${HOME}/.cache/tributary/kafka-${version}}"
state="${TRIBUTARY_KAFKA_STATE:-${TMPDIR:-/tmp}/tributary-kafka-$(id -u)}"
heap="${TRIBUTARY_KAFKA_HEAP:-512m}"
start_timeout_s=90
stop_timeout_s=30

die() {
  echo "kafka.sh: $*" >&2
  exit 1
}

running_pid() {
  [ -f "$state/pid" ] || return 1
  local pid
  pid="$(cat "$state/pid")"
  # The pid file may outlive the broker (machine restart, SIGKILL): check it is still a
  # JVM running kafka.Kafka, not a recycled pid of something else.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  return 1
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fetch_jars() {
  if [ -f "$cache/libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"
  command -v java >/dev/null || die "Java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless"
  echo "fetching Apache Kafka ${version} jars with Maven into $cache/libs ..." >&2
  rm -rf "$cache/libs.tmp"
  mkdir -p "$cache"
  # The pom lives in the repo; Maven writes nothing beside it with copy-dependencies to an
  # explicit output directory, so the work tree stays clean.
  if ! mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$cache/libs.tmp" \
    >"$cache/maven.log" 2>&1; then
    cat "$cache/maven.log" >&2
    die "Maven could not resolve org.apache.kafka:kafka_2.13:${version} (output above; is Maven Central reachable? is the version right?)"
  fi
  ls "$cache/libs.tmp"/kafka_2.13-"${version}".jar >/dev/null 2>&1 || die "Maven ran but kafka_2.13-${version}.jar is missing from $cache/libs.tmp"
  rm -rf "$cache/libs"
  mv "$cache/libs.tmp" "$cache/libs"
  touch "$cache/libs/.complete"
}

# A throwaway CA, the broker's certificate (127.0.0.1, localhost) and a client certificate,
# in $1/tls. Kafka reads PEM directly (ssl.keystore.type=PEM: an unencrypted PKCS#8 key
# followed by its certificate), so no keytool and no extra JVM start.
make_certs() {
  local tls="$1/tls"
  mkdir -p "$tls"
  (
    cd "$tls"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=tributary test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt
    openssl req "${ec[@]}" -keyout client.key -out client.csr -subj "/CN=tributary-client"
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile client.ext -out client.crt
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.p8
    cat server.p8 server.crt >server-keystore.pem
  ) >"$1/certs.log" 2>&1 || {
    cat "$1/certs.log" >&2
    die "openssl could not make the test certificates in $tls (output above)"
  }
}

write_config() {
  local dir="$1"
  local plain_jaas="org.apache.kafka.common.security.plain.PlainLoginModule required user_${sasl_user}=\"${sasl_password}\";"
  local scram_jaas="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka.sh: one node that is both broker and KRaft controller, on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port},SASL_PLAINTEXT://127.0.0.1:${sasl_port},SASL_SSL://127.0.0.1:${sasl_ssl_port},MTLS://127.0.0.1:${mtls_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${sasl_port},SASL_SSL://127.0.0.1:${sasl_ssl_port},MTLS://127.0.0.1:${mtls_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL
# Secured listeners for clients' SASL and TLS options. No authorizer: an authenticated user
# may do anything. PLAIN checks the JAAS user list; SCRAM the credentials stored by
# format --add-scram.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=${plain_jaas}
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${scram_jaas}
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${scram_jaas}
listener.name.sasl_ssl.plain.sasl.jaas.config=${plain_jaas}
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram_jaas}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram_jaas}
ssl.keystore.type=PEM
ssl.keystore.location=${dir}/tls/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${dir}/tls/ca.pem
listener.name.mtls.ssl.client.auth=required
log.dirs=${dir}/data
num.partitions=1
# One replica of everything: there is one node.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# Tributary creates its topics explicitly; producing to a missing topic must fail, not
# create it with defaults.
auto.create.topics.enable=false
# Groups form at once and accept the short session timeouts tests use.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# Tests process history with old event times (2023): Kafka's time retention (7 days by
# default) applies to record timestamps and would delete that history under them, so on
# this broker records stay until their topic is deleted (docs/kafka.md: retention).
log.retention.ms=-1
# Deleted topics' files go soon, so a test machine's disk does not fill up.
log.segment.delete.delay.ms=1000
file.delete.delay.ms=1000
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
EOF
}

# Kafka's command-line tools (TopicCommand, ConsumerGroupCommand) are in kafka-tools, which
# the broker does not need: fetched on first use, beside the broker jars.
fetch_tools() {
  fetch_jars
  if [ -f "$cache/tools/.complete" ]; then return 0; fi
  echo "fetching kafka-tools ${version} with Maven into $cache/tools ..." >&2
  rm -rf "$cache/tools.tmp"
  if ! mvn -q -B -Dstyle.color=never dependency:copy \
    -Dartifact="org.apache.kafka:kafka-tools:${version}" -DoutputDirectory="$cache/tools.tmp" \
    >"$cache/maven-tools.log" 2>&1; then
    cat "$cache/maven-tools.log" >&2
    die "Maven could not resolve org.apache.kafka:kafka-tools:${version} (output above)"
  fi
  rm -rf "$cache/tools"
  mv "$cache/tools.tmp" "$cache/tools"
  touch "$cache/tools/.complete"
}

# Runs one of Kafka's tools against the running broker: tool CLASS ARGS...
tool() {
  local class="$1"
  shift
  running_pid >/dev/null || die "not running: scripts/kafka.sh start first"
  fetch_tools
  exec java -Xmx256m -cp "$cache/libs/*:$cache/tools/*" "$class" \
    --bootstrap-server "$(cat "$state/bootstrap")" "$@"
}

start() {
  if pid="$(running_pid)"; then
    echo "kafka.sh: already running (pid $pid)" >&2
    cat "$state/bootstrap"
    return 0
  fi
  local p
  for p in "$port" "$controller_port" "$sasl_port" "$sasl_ssl_port" "$mtls_port"; do
    if port_open "$p"; then
      die "port $p on 127.0.0.1 is taken by another process (the broker uses $port..$mtls_port): set TRIBUTARY_KAFKA_PORT to a free port"
    fi
  done
  fetch_jars
  mkdir -p "$state"
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/tributary-kafka.XXXXXX")"
  make_certs "$dir"
  write_config "$dir"
  local cp="$cache/libs/*"
  local jvm=(java "-Xmx${heap}" "-Xms128m" -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$cp")

  # A KRaft cluster id is 16 random bytes, base64url without padding (Kafka's Uuid).
  local cluster_id
  # One starting with '-' would be read by the format tool as an option: draw again.
  cluster_id="-"
  while [ "${cluster_id:0:1}" = "-" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  local scram=()
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    scram+=(--add-scram "${m}=[name=${sasl_user},password=${sasl_password}]")
  done
  if ! "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    "${scram[@]}" >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    die "formatting the KRaft log dir in $dir failed (output above)"
  fi

  nohup "${jvm[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$state/pid"
  echo "$dir" >"$state/dir"
  echo "127.0.0.1:${port}" >"$state/bootstrap"

  local deadline=$((SECONDS + start_timeout_s))
  until port_open "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
      rm -f "$state/pid"
      die "the broker exited during start-up; its logs are in $dir (tail above)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$state/pid"
      die "the broker did not open 127.0.0.1:$port within ${start_timeout_s}s; its logs are in $dir"
    fi
    sleep 0.3
  done
  local left=$((deadline - SECONDS))
  [ "$left" -gt 5 ] || left=5
  # A listening port is not a serving broker: ask for metadata as a client would.
  if ! java -cp "$cp" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    "$here/kafka/WaitReady.java" "127.0.0.1:${port}" "$left" >"$dir/ready.log" 2>&1; then
    cat "$dir/ready.log" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$state/pid"
    die "the broker listens but does not serve metadata; its logs are in $dir"
  fi
  echo "kafka.sh: Apache Kafka ${version} (pid $pid) serves at 127.0.0.1:${port}; logs in $dir" >&2
  echo "127.0.0.1:${port}"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "kafka.sh: not running" >&2
    rm -f "$state/pid"
    return 0
  fi
  local dir
  dir="$(cat "$state/dir" 2>/dev/null || true)"
  # SIGTERM runs Kafka's shutdown hook: it closes the log cleanly, which is what makes a
  # restart on the same dir skip recovery.
  kill -TERM "$pid"
  local deadline=$((SECONDS + stop_timeout_s))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kafka.sh: broker (pid $pid) still running after ${stop_timeout_s}s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$state/pid" "$state/bootstrap" "$state/dir"
  if [ -n "$dir" ] && [ -d "$dir" ] && [ "${TRIBUTARY_KAFKA_KEEP:-}" != "1" ]; then rm -rf "$dir"; fi
  echo "kafka.sh: stopped" >&2
}

# The secured listeners of the running broker, as shell exports (what .ci/run evals for the
# Kafka suite's SASL and TLS tests).
env_exports() {
  running_pid >/dev/null || die "not running: scripts/kafka.sh start first"
  local tls
  tls="$(cat "$state/dir")/tls"
  cat <<EOF
export TRIBUTARY_KAFKA_BROKERS=127.0.0.1:${port}
export TRIBUTARY_KAFKA_SASL_BROKERS=127.0.0.1:${sasl_port}
export TRIBUTARY_KAFKA_SASL_SSL_BROKERS=127.0.0.1:${sasl_ssl_port}
export TRIBUTARY_KAFKA_MTLS_BROKERS=127.0.0.1:${mtls_port}
export TRIBUTARY_KAFKA_SASL_USER=${sasl_user}
export TRIBUTARY_KAFKA_SASL_PASSWORD=${sasl_password}
export TRIBUTARY_KAFKA_TLS_DIR=${tls}
EOF
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka.sh: running (pid $pid), logs in $(cat "$state/dir")" >&2
    cat "$state/bootstrap"
    return 0
  fi
  echo "kafka.sh: not running" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_exports ;;
  fetch) fetch_jars ;;
  topics) shift && tool org.apache.kafka.tools.TopicCommand "$@" ;;
  groups) shift && tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
  *)
    echo "usage: scripts/kafka.sh start|stop|status|env|fetch|topics ARGS|groups ARGS" >&2
    exit 2
    ;;
esac
