#!/usr/bin/env bash
# Real single-node Apache Kafka 4.1.1 broker (KRaft, combined broker+controller)
# for Haocha development, tests and CI. No Docker and no Kafka tarball needed:
# the jars come from Maven Central through `mvn` and are cached across runs.
#
#   deploy/kafka.sh up            start (idempotent) and wait until it answers
#   deploy/kafka.sh down [--wipe] stop (SIGTERM, then SIGKILL after 30 s); --wipe deletes the data dir
#   deploy/kafka.sh wipe          same as `down --wipe`
#   deploy/kafka.sh restart       down + up, keeping data ("broker bounce")
#   deploy/kafka.sh status        exit 0 if running and answering, 1 otherwise
#   deploy/kafka.sh logs [-f|tail args]  show the broker log (default: last 100 lines)
#   deploy/kafka.sh topics ARGS   kafka-topics against this broker, e.g. `topics --list`
#   deploy/kafka.sh run-class CLASS ARGS  any Kafka main class on the cached classpath
#   deploy/kafka.sh resolve       only fetch the jars into the cache
#
# Environment (all optional):
#   HAOCHA_KAFKA_PORT             client listener port               (9092)
#   HAOCHA_KAFKA_CONTROLLER_PORT  KRaft controller port              (client port + 1)
#   HAOCHA_KAFKA_DATA             config, pid, log and data          (<repo>/.run/kafka)
#   HAOCHA_KAFKA_CACHE            resolved jars                      ($HOME/.cache/haocha/kafka-4.1.1)
#   HAOCHA_KAFKA_START_TIMEOUT    seconds `up` waits for the broker  (90)
#   HAOCHA_KAFKA_HEAP             broker heap flags                  (-Xmx512m -Xms256m)
#   JAVA                          java binary                        (java on PATH)
set -euo pipefail

KAFKA_VERSION=4.1.1
# Kafka 4.x logs through slf4j 1.7 -> log4j2 (log4j-api/core come in via
# kafka-server). The slf4j->log4j2 binding is *not* a Maven dependency of any
# Kafka artifact (the tarball adds it), so we add it; without it the broker is
# silent apart from "SLF4J: Failed to load class StaticLoggerBinder".
LOG4J_VERSION=2.24.3

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"

PORT="${HAOCHA_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${HAOCHA_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
DATA_DIR="$(realpath -m -- "${HAOCHA_KAFKA_DATA:-$REPO_ROOT/.run/kafka}")"
CACHE_DIR="$(realpath -m -- "${HAOCHA_KAFKA_CACHE:-$HOME/.cache/haocha/kafka-$KAFKA_VERSION}")"
START_TIMEOUT="${HAOCHA_KAFKA_START_TIMEOUT:-90}"
HEAP_OPTS="${HAOCHA_KAFKA_HEAP:--Xmx512m -Xms256m}"
JAVA="${JAVA:-java}"
HOST=127.0.0.1
BOOTSTRAP="$HOST:$PORT"

LIBS_DIR="$CACHE_DIR/libs"
LIBS_MARKER="$CACHE_DIR/.resolved"
PROPS="$DATA_DIR/server.properties"
LOG_DIRS="$DATA_DIR/data"            # Kafka log.dirs (topic partitions + KRaft metadata)
PID_FILE="$DATA_DIR/kafka.pid"
BROKER_LOG="$DATA_DIR/kafka.log"     # broker stdout/stderr (log4j writes to stdout)
OWNER_MARKER="$DATA_DIR/.haocha-kafka"  # proves the dir is ours before `wipe` deletes it

# Short-lived CLI JVMs: small heap, C1 only, serial GC -> noticeably faster start.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --------------------------------------------------------------------------- jars

resolve() {
    command -v "$JAVA" >/dev/null || die "java not found (need Java 17+)"
    mkdir -p "$CACHE_DIR"
    local pom="$CACHE_DIR/pom.xml"
    write_tool_configs
    write_pom "$pom.$$"
    # The marker holds the pom's checksum, so editing the dependency list
    # below re-resolves instead of silently using stale jars.
    local want
    want="$(sha256sum "$pom.$$" | cut -d' ' -f1)"
    if [[ -f "$LIBS_MARKER" && "$(cat "$LIBS_MARKER")" == "$want" && -d "$LIBS_DIR" ]]; then
        rm -f "$pom.$$"
        return 0
    fi
    # Serialise concurrent resolvers (parallel CI jobs sharing one cache).
    exec 8>"$CACHE_DIR/.lock"
    flock 8
    if [[ -f "$LIBS_MARKER" && "$(cat "$LIBS_MARKER")" == "$want" && -d "$LIBS_DIR" ]]; then
        rm -f "$pom.$$"; exec 8>&-; return 0
    fi
    command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch Kafka jars"
    mv -f "$pom.$$" "$pom"
    log "resolving Kafka $KAFKA_VERSION with Maven into $CACHE_DIR ..."
    local t0; t0="$(now)"
    rm -rf "$LIBS_DIR.tmp"
    # Output goes to a file (Debian's mvn prints stray ANSI codes even with -q)
    # and is shown only when resolution fails.
    if ! (cd "$CACHE_DIR" && mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
            -DoutputDirectory="$LIBS_DIR.tmp" -DincludeScope=runtime) >"$CACHE_DIR/mvn.log" 2>&1; then
        tail -n 40 "$CACHE_DIR/mvn.log" >&2
        rm -rf "$LIBS_DIR.tmp"
        die "Maven could not resolve Kafka $KAFKA_VERSION (full output: $CACHE_DIR/mvn.log)"
    fi
    rm -rf "$LIBS_DIR"
    mv "$LIBS_DIR.tmp" "$LIBS_DIR"
    printf '%s\n' "$want" >"$LIBS_MARKER"
    exec 8>&-
    log "resolved $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $(elapsed "$t0") s"
}

write_pom() {
    cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/kafka.sh: the runtime classpath of a Kafka $KAFKA_VERSION broker + CLI tools. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>haocha.dev</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <!-- only needed by the Connect plugin-path tool; drags in Jetty/Jersey -->
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# Files for the short-lived CLI JVMs. They live in the cache (so `topics` etc.
# never create a data dir) and are replaced atomically, because parallel jobs
# sharing the cache may be starting a tool that reads them right now.
write_tool_configs() {
    local f="$CACHE_DIR/log4j2-tools.properties"
    # WARN and above to stderr, so stdout stays machine-readable.
    cat >"$f.$$" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
    mv -f "$f.$$" "$f"
}

# Run a Kafka CLI main class with quiet logging (WARN to stderr).
run_class() {
    local main="$1"; shift
    resolve
    "$JAVA" "${TOOL_JVM_OPTS[@]}" \
        -Dlog4j2.configurationFile="$CACHE_DIR/log4j2-tools.properties" \
        -cp "$LIBS_DIR/*" "$main" "$@"
}

# ------------------------------------------------------------------------ config

write_broker_log4j_config() {
    mkdir -p "$DATA_DIR"
    # Broker: INFO to stdout (redirected to kafka.log), chatty internals at WARN.
    cat >"$DATA_DIR/log4j2-broker.properties" <<'EOF'
status = warn
# Kafka's own SIGTERM handler logs the shutdown; log4j's hook would only race
# it ("Unable to register Log4j shutdown hook because JVM is shutting down").
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.network.name = kafka.network.RequestChannel$
logger.network.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
# The ~400-line "KafkaConfig values" dumps (server.properties has the config).
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
}

write_server_properties() {
    mkdir -p "$DATA_DIR" "$LOG_DIRS"
    # Rewritten on every `up`, so port/env changes apply; the cluster identity
    # lives in $LOG_DIRS/meta.properties and is untouched.
    cat >"$PROPS" <<EOF
# Generated by deploy/kafka.sh on every 'up' -- edit the script, not this file.
process.roles=broker,controller
node.id=1
# Static quorum (controller.quorum.voters) rather than the dynamic one
# (--standalone): the voter endpoint is read from here on every start, so the
# controller port can change between runs without reformatting.
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$LOG_DIRS
num.partitions=1
default.replication.factor=1
# The app declares its topics (partitions, retention, compaction) itself.
auto.create.topics.enable=false

# A single node cannot host the default RF=3 internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers join immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Review events carry their real creation time, and imported history goes back
# to 2021: keep producer timestamps and never reject old ones. (before.max.ms
# already defaults to Long.MAX in 4.1; pinned so a default change cannot bite.
# after.max.ms keeps its 4.x default of 1 h: future timestamps are rejected.)
log.message.timestamp.type=CreateTime
log.message.timestamp.before.max.ms=9223372036854775807

# A node restarted after a crash may register again only once its controller has
# fenced the old incarnation, after broker.session.timeout.ms without heartbeats
# (default 9 s, on top of the start): with 3 s a bounced broker answers ~6 s sooner.
# Heartbeats every 500 ms leave a stalled JVM 6 missed beats before it is fenced.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000

# Small dev box: fewer threads than the defaults.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

new_cluster_id() {
    # Kafka's Uuid text form: 16 random bytes, URL-safe base64, no padding.
    # Like Uuid.randomUuid(), avoid a leading '-' (it trips CLI parsing).
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" != -* ]] && break
    done
    printf '%s' "$id"
}

format_if_needed() {
    [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
    local id; id="$(new_cluster_id)"
    log "formatting KRaft storage (cluster id $id) ..."
    run_class kafka.tools.StorageTool format -t "$id" -c "$PROPS" >/dev/null \
        || die "formatting KRaft storage in $LOG_DIRS failed"
}

# ----------------------------------------------------------------------- process

# Is $1 a live broker JVM started with *our* server.properties? Guards against
# a stale pid file whose pid was reused by an unrelated process.
is_our_broker() {
    local pid="$1" cmd
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *" kafka.Kafka $PROPS"* ]]
}

# Print the pid of this data dir's broker, or fail.
broker_pid() {
    local pid
    if [[ -f "$PID_FILE" ]]; then
        pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        if is_our_broker "$pid"; then printf '%s' "$pid"; return 0; fi
    fi
    # Pid file lost (e.g. data dir recreated by hand): look for our exact
    # command line, so we never leave an orphan broker holding the ports.
    for d in /proc/[0-9]*; do
        pid="${d#/proc/}"
        if is_our_broker "$pid"; then printf '%s' "$pid"; return 0; fi
    done
    return 1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# The broker "answers" when it answers a request: an ApiVersions (v0) round
# trip over /dev/tcp. Its listener is bound early in the start but processes
# requests only once the broker is registered and unfenced, i.e. really usable.
# (A JVM client as the probe took 2-3 s of CPU per try, beside the starting
# broker on a 2-core box.) Request: size 15, api key 18, version 0, correlation
# id 1, client id "probe"; the answer starts with its size and that id.
answering() {
    local got
    # (exec's own 2> would silence the script's stderr from here on; the group's does not)
    { exec 3<>"/dev/tcp/$HOST/$PORT"; } 2>/dev/null || return 1
    printf '\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x01\x00\x05probe' >&3 2>/dev/null
    got="$(timeout 3 head -c 8 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')"
    exec 3<&- 3>&-
    [[ ${#got} -eq 16 && "${got:8:8}" == "00000001" ]]
}

# Print the broker log of the latest start only (since the last `up` banner).
tail_log() {
    [[ -f "$BROKER_LOG" ]] || return 0
    log "last lines of $BROKER_LOG:"
    awk '/^===== .* kafka.sh up =====$/ { n = NR } { line[NR] = $0 }
         END { for (i = (n ? n : 1); i <= NR; i++) print line[i] }' "$BROKER_LOG" \
        | tail -n "${1:-40}" >&2
}

# SIGTERM (Kafka does a controlled shutdown), wait up to 30 s, then SIGKILL.
stop_pid() {
    local pid="$1" t0; t0="$(now)"
    log "stopping broker (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        is_our_broker "$pid" || break
        sleep 0.1
    done
    if is_our_broker "$pid"; then
        log "broker did not stop within 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            is_our_broker "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$PID_FILE"
    log "broker stopped in $(elapsed "$t0") s"
}

# -------------------------------------------------------------------- commands

cmd_up() {
    local t0; t0="$(now)"
    mkdir -p "$DATA_DIR"
    : >"$OWNER_MARKER"
    # One up/down at a time per data dir.
    exec 9>"$DATA_DIR/.lock"
    flock 9

    local pid
    if pid="$(broker_pid)"; then
        if answering; then
            log "broker already running on $BOOTSTRAP (pid $pid, data $DATA_DIR)"
            return 0
        fi
        log "broker process $pid exists but does not answer yet; waiting ..."
    else
        if [[ -f "$PID_FILE" ]]; then
            log "removing stale pid file (pid $(cat "$PID_FILE" 2>/dev/null) is not running)"
            rm -f "$PID_FILE"
        fi
        for p in "$PORT" "$CONTROLLER_PORT"; do
            port_open "$p" && die "port $p on $HOST is already in use by another process" \
                "(another broker? set HAOCHA_KAFKA_PORT / HAOCHA_KAFKA_CONTROLLER_PORT)"
        done
        resolve
        write_server_properties
        write_broker_log4j_config
        format_if_needed

        log "starting broker on $BOOTSTRAP (controller $HOST:$CONTROLLER_PORT, data $DATA_DIR) ..."
        printf '\n===== %s kafka.sh up =====\n' "$(date -Is)" >>"$BROKER_LOG"
        # setsid: the broker gets its own session, so it survives the shell /
        # job that ran `up` (CI steps, `timeout`, Ctrl-C in the caller).
        # The inner shell records its own pid, then execs, so the pid file
        # holds the JVM's pid. 8>&- 9>&- : the broker must not inherit our
        # lock fds, or it would hold the lock for its whole life.
        # SC2086: HEAP_OPTS is word-split on purpose. SC2016: $$/$0 are for the inner shell.
        # shellcheck disable=SC2086,SC2016
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
            "$JAVA" $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
            -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$DATA_DIR/log4j2-broker.properties" \
            -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" \
            </dev/null >>"$BROKER_LOG" 2>&1 8>&- 9>&- &
        disown || true
        # Wait for the pid file (written by the child just before exec).
        for _ in $(seq 50); do
            [[ -s "$PID_FILE" ]] && break
            sleep 0.1
        done
    fi

    local deadline=$(( $(date +%s) + START_TIMEOUT ))
    while :; do
        pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        if ! is_our_broker "$pid"; then
            tail_log 60
            rm -f "$PID_FILE"
            die "broker exited during startup (log: $BROKER_LOG)"
        fi
        if answering; then
            break
        fi
        if (( $(date +%s) >= deadline )); then
            tail_log 60
            # Stop it rather than leave a half-started JVM holding the ports
            # (CI would otherwise keep an orphan broker around).
            stop_pid "$pid"
            die "broker did not answer on $BOOTSTRAP within ${START_TIMEOUT} s" \
                "(HAOCHA_KAFKA_START_TIMEOUT); full log: $BROKER_LOG"
        fi
        sleep 0.5
    done
    log "broker up on $BOOTSTRAP in $(elapsed "$t0") s (pid $pid)"
}

cmd_down() {
    local wipe=0
    for a in "$@"; do
        case "$a" in
            --wipe) wipe=1 ;;
            *) die "down: unknown option $a" ;;
        esac
    done
    if [[ -d "$DATA_DIR" ]]; then
        exec 9>"$DATA_DIR/.lock"
        flock 9
    fi
    local pid
    if pid="$(broker_pid)"; then
        stop_pid "$pid"
    else
        log "broker not running"
    fi
    rm -f "$PID_FILE"
    if (( wipe )); then
        wipe_data
    fi
}

wipe_data() {
    [[ -e "$DATA_DIR" ]] || { log "nothing to wipe at $DATA_DIR"; return 0; }
    # Refuse to rm -rf a directory this script did not create (a mistyped
    # HAOCHA_KAFKA_DATA such as $HOME must never be deleted).
    if [[ ! -f "$OWNER_MARKER" ]]; then
        die "refusing to wipe $DATA_DIR: it has no $(basename "$OWNER_MARKER") marker"
    fi
    case "$DATA_DIR" in
        / | "$HOME" | "$REPO_ROOT") die "refusing to wipe $DATA_DIR" ;;
    esac
    rm -rf -- "$DATA_DIR"
    log "wiped $DATA_DIR"
}

cmd_status() {
    local pid
    if ! pid="$(broker_pid)"; then
        log "not running (data $DATA_DIR)"
        return 1
    fi
    if answering; then
        log "running on $BOOTSTRAP (pid $pid, data $DATA_DIR)"
        return 0
    fi
    log "process $pid is running but the broker does not answer on $BOOTSTRAP"
    return 1
}

cmd_logs() {
    [[ -f "$BROKER_LOG" ]] || die "no broker log at $BROKER_LOG"
    if (( $# == 0 )); then set -- -n 100; fi
    exec tail "$@" "$BROKER_LOG"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        wipe) cmd_down --wipe ;;
        restart) cmd_down; cmd_up ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        topics) run_class org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "$@" ;;
        run-class)
            [[ $# -ge 1 ]] || die "run-class needs a main class"
            run_class "$@" ;;
        resolve) resolve; log "jars in $LIBS_DIR" ;;
        -h | --help | help) usage ;;
        "") usage; exit 2 ;;
        *) log "unknown command: $cmd"; usage; exit 2 ;;
    esac
}

main "$@"
