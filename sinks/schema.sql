-- Haocha's ClickHouse schema. Applied idempotently at start (every statement IF NOT EXISTS).
-- Times are stored as DateTime64 in the local time zone {tz} (settings.timezone, Asia/Shanghai by
-- default) so that day/week/month boundaries are local.
-- Writers insert only rows whose keys are not there yet (sinks/staging.py: a batch is staged in a
-- temporary table, one INSERT ... SELECT stores the new keys), so a replay after a crash writes
-- nothing twice; the Replacing engines are a second line of defence.

CREATE DATABASE IF NOT EXISTS {db};

CREATE TABLE IF NOT EXISTS {db}.reviews
(
    review_id      String,
    case_no        Nullable(String),
    channel        LowCardinality(String),
    hall_id        LowCardinality(String),
    window_id      LowCardinality(String),
    department_id  LowCardinality(String),
    staff_id       Nullable(String),
    item_code      Nullable(String),
    item_name      Nullable(String),
    rating         UInt8,
    score          UInt8,
    reasons        Array(String),
    comment        Nullable(String),
    real_name      Bool,
    phone_masked   Nullable(String),
    happened_at    DateTime64(3, '{tz}'),
    received_at    DateTime64(3, '{tz}'),
    classified_at  DateTime64(3, '{tz}'),
    terminal_id    String,
    follow_up_of   Nullable(String),
    classification LowCardinality(String),
    counted        Bool,
    ticket_id      Nullable(String),
    note           String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(happened_at)
ORDER BY review_id;

CREATE TABLE IF NOT EXISTS {db}.ticket_events
(
    event_id      String,
    ticket_id     String,
    version       UInt32,
    type          LowCardinality(String),
    occurred_at   DateTime64(3, '{tz}'),
    recorded_at   DateTime64(3, '{tz}'),
    actor_id      String,
    actor_role    LowCardinality(String),
    command_id    String,
    payload       String  -- the event as JSON, personal data masked
)
ENGINE = ReplacingMergeTree
ORDER BY (ticket_id, version);

CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    source      LowCardinality(String),
    reason      LowCardinality(String),
    detail      String,
    raw         String,
    raw_encoding LowCardinality(String),
    kafka_key   Nullable(String),
    kafka_partition Nullable(Int32),
    kafka_offset Nullable(Int64),
    failed_at   DateTime64(3, '{tz}'),
    dl_partition Int32,
    dl_offset   Int64
)
ENGINE = ReplacingMergeTree
ORDER BY (dl_partition, dl_offset);

-- `raw` is the display copy, phone numbers masked; `sealed` the raw bytes AES-GCM sealed under the
-- secret key (never in clear at rest). A dead letter is one per bad input: keyed by its source
-- message (topic@partition:offset), so a batch replayed after a crash, which dead-letters the same
-- input again at another offset of the dead-letter topic, adds no row. Letters with no source
-- message (the gateway's) are keyed by their own place in the dead-letter topic.
ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS sealed Nullable(String);
ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS source_key String DEFAULT
    if(isNull(kafka_offset), concat('@', toString(dl_partition), ':', toString(dl_offset)),
       concat(source, '@', toString(kafka_partition), ':', toString(kafka_offset)));

-- The latest state of each ticket (a fold of its events, written by the ticket agent as a
-- snapshot per version). Read with FINAL, or argMax(…, version).
CREATE TABLE IF NOT EXISTS {db}.tickets
(
    ticket_id        String,
    version          UInt32,
    status           LowCardinality(String),
    review_id        String,
    hall_id          LowCardinality(String),
    window_id        LowCardinality(String),
    department_id    LowCardinality(String),
    rating           UInt8,
    real_name        Bool,
    happened_at      DateTime64(3, '{tz}'),
    opened_at        DateTime64(3, '{tz}'),
    contact_due      DateTime64(3, '{tz}'),
    resolve_due      DateTime64(3, '{tz}'),
    officer_id       Nullable(String),
    contact_attempts UInt16,
    contacted_at     Nullable(DateTime64(3, '{tz}')),
    verdict          Nullable(String),
    rectified_at     Nullable(DateTime64(3, '{tz}')),
    feedback_at      Nullable(DateTime64(3, '{tz}')),
    explained_at     Nullable(DateTime64(3, '{tz}')),
    closed_at        Nullable(DateTime64(3, '{tz}')),
    resolution       Nullable(String),
    appeal           Nullable(String),
    invalidated_reason Nullable(String),
    reopen_count     UInt8,
    warned           Array(String),
    escalated        Array(String)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY ticket_id;

-- Real-time alerts (bad-review spikes per service window) and their acknowledgements.
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    alert_id       String,
    hall_id        LowCardinality(String),
    window_id      LowCardinality(String),
    department_id  LowCardinality(String),
    window_start   DateTime64(3, '{tz}'),
    window_end     DateTime64(3, '{tz}'),
    reviews        UInt32,
    bad            UInt32,
    detected_at    DateTime64(3, '{tz}')
)
ENGINE = ReplacingMergeTree
ORDER BY alert_id;

CREATE TABLE IF NOT EXISTS {db}.alert_acks
(
    alert_id        String,
    window_id       LowCardinality(String),
    by              String,
    note            String,
    acknowledged_at DateTime64(3, '{tz}')
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, acknowledged_at);

-- The ClickHouse writer's batch in flight, one row per writer (streams/clickhouse_writer.py). A
-- table's insert and its materialized views' inserts commit one by one, and a replay stores only
-- the keys a table lacks, so a writer stopped mid-batch may leave raw rows its rollups never got:
-- `pending` still set at start makes the writer rebuild the rollups from the raw tables.
CREATE TABLE IF NOT EXISTS {db}.writer_batches
(
    writer         String,
    pending        Bool,
    at             DateTime64(3, '{tz}')
)
ENGINE = EmbeddedRocksDB
PRIMARY KEY writer;
