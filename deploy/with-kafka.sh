#!/usr/bin/env bash
# Run a command with the local Kafka broker up; stop the broker afterwards only if this script
# started it. `--wipe` also deletes the broker's data when it was started here (test runs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wipe=""
if [ "${1:-}" = "--wipe" ]; then wipe="--wipe"; shift; fi

started=""
if ! bash "$here/kafka.sh" status >/dev/null 2>&1; then
    bash "$here/kafka.sh" up
    started=1
fi
export HAOCHA_KAFKA_BOOTSTRAP="${HAOCHA_KAFKA_BOOTSTRAP:-127.0.0.1:${HAOCHA_KAFKA_PORT:-9092}}"

set +e
"$@"
rc=$?
set -e
if [ -n "$started" ]; then
    bash "$here/kafka.sh" down $wipe || true
fi
exit $rc
