"""The one settings object. Every setting has an environment name: HAOCHA_<FIELD>.

Declared here, at the bottom of the house, in sections (Kafka, worker, domain rules, HTTP API,
auth, gateway), so that no layer imports another to learn its configuration. Built once by the
composition root (`apps/bootstrap.py`, `load()`), passed down to whatever needs it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOCHA_", frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "haocha"
    # The most workers (and writers) that can share the work; fixed when the topics are created.
    partitions: int = Field(12, ge=1, description="partitions of every keyed topic; tables follow them")
    replication: int = Field(1, ge=1)

    # Worker and its state
    # Faust's app id names the consumer group and the tables' changelog topics
    # (`<app id>-<table>-changelog`). It follows the topic prefix unless set, so two deployments on
    # one broker (different prefixes) never share state; the default deployment keeps "haocha".
    app_id: str = Field("", description="default: the topic prefix")
    data_dir: Path = Path(".run/data")
    clickhouse_dsn: str = Field("", description="chdb://PATH (embedded, default) or http(s)://user:pw@host:port/db")
    clickhouse_database: str = "haocha"
    # Per batch: how many messages one step takes. The review hop takes what one fetch returns (up
    # to review_batch); the ticket hop waits briefly for more; the ClickHouse writer
    # gathers rows for up to sink_flush_seconds, since an insert's cost is mostly per insert.
    # 10,000 over 5,000: a terminal's presses and the alert windows, read review after review, go
    # to the changelog and RocksDB once per batch, and a batch's deliveries and commit are paid half
    # as often (bench_pipeline, alternating runs: 8,867 -> 9,499 and 9,209 -> 9,427 reviews/s). The
    # hop hands its output over and yields to the loop every 1,000 reviews (review_hop.SEND_EVERY);
    # under a steady load a batch is what one fetch brings, far fewer.
    review_batch: int = Field(10000, ge=1, description="reviews per batch of the review hop")
    ticket_batch: int = Field(2000, ge=1, description="commands taken per batch by the ticket hop")
    ticket_flush_seconds: float = Field(0.05, gt=0)
    sink_batch: int = Field(20000, ge=1, description="rows per ClickHouse insert batch of the writer")
    sink_flush_seconds: float = Field(1.0, gt=0, description="how long a writer batch may gather rows")
    sink_in_worker: bool = Field(True, description="the worker runs the ClickHouse writer (and owns the store)")
    # The event loop carries the hops and the API; the other threads (the embedded engine's inserts
    # and reads, RocksDB) do bulk work and run this much lower (haocha/adapters/cpu_priority.py).
    bulk_nice: int = Field(10, ge=0, le=19, description="nice value of every thread but the event loop's; 0 = same")
    # Whatever reads the store lives where the store opens: the embedded one opens in one process,
    # so with the writer apart (`haocha sink`) the API and console move there; a server store is
    # open to every process, and any worker or writer may serve them (docs/deploy.md).
    sink_api: bool | None = Field(
        None, description="`haocha sink` serves the HTTP API and console; default: when its store is embedded (chdb://)")
    progress_seconds: float = Field(30.0, ge=0, description="a progress line in the worker's log this often; 0 = none")
    # Restart readiness: a worker restarted after a crash rejoins its consumer group under the same
    # static instance id and takes its partitions back at once, instead of waiting for the dead
    # process's session to expire (a minute with the client's old default) before the group rebalances.
    worker_instance_id: str = Field(
        "", description="static group membership id; default: from the host and data dir; 'none' = dynamic")
    broker_session_seconds: float = Field(
        10.0, ge=6.0, le=90.0, description="a worker that stops heartbeating loses its partitions after this long")

    # Domain rules (DOMAIN.md defaults)
    directory_path: Path = PACKAGE_DATA / "directory.json"
    calendar_overrides: Path = PACKAGE_DATA / "calendar_overrides.json"
    timezone: str = "Asia/Shanghai"
    repeat_window_seconds: float = 5.0
    contact_working_days: float = 1.0
    resolve_working_days: float = 5.0
    deadline_sweep_seconds: float = Field(60.0, ge=0, description="0 turns the periodic sweep off")

    # HTTP API (served by the worker; by `haocha sink` when it owns the embedded store)
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_url: str = Field("", description="where CLI commands reach the worker; default http://api_host:api_port")
    command_timeout_seconds: float = Field(15.0, gt=0, description="how long a caller waits for an outcome (504 after)")
    list_limit_max: int = Field(5000, ge=1)
    api_read_concurrency: int = Field(
        2, ge=1, description="store reads (queries, reports) the API runs at once; more wait their turn")

    # Both HTTP servers (the API and the gateway): slow clients are closed (apps/http_limits.py)
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, description="a request head must be complete this long after connecting (or the last answer)")
    http_body_timeout_seconds: float = Field(30.0, gt=0, description="a request body must be complete this long after its head")

    # Auth
    # Bootstraps an admin for the demo and for `haocha user add` on a fresh install; never written anywhere.
    admin_token: SecretStr | None = None
    # Default: <data_dir>/users.json. Shared by the worker and `haocha user`.
    users_file: Path | None = None
    secret_key: SecretStr = SecretStr("change-me-in-production")
    person_token_days: float = Field(30.0, ge=0, description="tokens of people's accounts expire after; 0 = never")
    machine_token_days: float = Field(0.0, ge=0, description="tokens of `--machine` accounts expire after; 0 = never")
    auth_threads: int = Field(2, ge=1, description="threads for password/token hashing (off the event loop)")
    auth_max_waiting: int = Field(32, ge=1, description="hash checks waiting beyond this are answered 429")
    auth_cache_seconds: float = Field(60.0, ge=0, description="a verified credential is not hashed again for this long")
    auth_lockout_failures: int = Field(5, ge=1, description="failed sign-ins per user id before lock-out")
    auth_address_failures: int = Field(20, ge=1, description="failed authentications per client address before 429")
    auth_lockout_minutes: float = Field(15.0, gt=0, description="window of the failure counts above")
    session_idle_minutes: float = Field(30.0, gt=0, description="a console session ends after this long unused")
    session_absolute_hours: float = Field(12.0, gt=0, description="a console session ends this long after sign-in")
    set_password_link_hours: float = Field(72.0, gt=0, description="a set-password link works this long, once")

    # Console (served by the worker)
    console_dir: Path | None = Field(None, description="built console (default: console/dist of the checkout)")
    evidence_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="largest evidence file")
    stream_ping_seconds: float = Field(15.0, gt=0, description="keep-alive comment on the ticket event stream")
    stream_client_queue: int = Field(256, ge=1, description="events buffered per stream client before it is dropped")

    # Gateway (terminals)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8081
    gateway_max_body_bytes: int = Field(1_048_576, ge=1024, description="larger request bodies get 413 body_too_large")
    gateway_max_batch: int = Field(500, ge=1, description="reviews per batch request")
    gateway_clock_skew_seconds: float = Field(300.0, gt=0, description="accepted |now - X-Haocha-Timestamp|")
    gateway_rate_per_second: float = Field(20.0, ge=0, description="requests per second per terminal; 0 = no limit")
    gateway_rate_burst: int = Field(40, ge=1, description="requests a terminal may send at once")
    gateway_refusal_rate_per_second: float = Field(
        5.0, ge=0, description="refused (unauthenticated) attempts per second per client address before 429")
    gateway_refusal_burst: int = Field(50, ge=1)
    gateway_produce_timeout_seconds: float = Field(15.0, gt=0, description="Kafka ack wait before 503 unavailable")
    gateway_idempotency_days: float = Field(35.0, gt=0, description="how long a review id's outcome is remembered")
    gateway_algorithms: str = Field("hmac-sha256,sm3-hmac", description="signature algorithms accepted")
    gateway_classified_tail: bool = Field(True, description="learn the stream's verdicts to report them back")
    gateway_trust_forwarded_for: bool = Field(False, description="take the client address from X-Forwarded-For")
    gateway_kiosk_thanks_seconds: float = Field(6.0, gt=0, description="thank-you screen; >= the repeat-press window")
    gateway_kiosk_idle_seconds: float = Field(60.0, gt=0, description="an unfinished kiosk review returns to start")
    gateway_kiosk_allow_from: str = Field(
        "", description="comma-separated networks (CIDR) whose browsers may use kiosk pages; empty = any")
    gateway_kiosk_pairing_minutes: float = Field(10.0, gt=0, description="a kiosk pairing code works this long, once")
    gateway_kiosk_pairing_attempts: int = Field(5, ge=1, description="wrong codes before a pairing code is void")

    @model_validator(mode="before")
    @classmethod
    def _app_id_follows_the_prefix(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("app_id"):
            data = {**data, "app_id": data.get("topic_prefix") or cls.model_fields["topic_prefix"].default}
        return data

    @property
    def kiosk_networks(self) -> tuple:
        import ipaddress

        return tuple(ipaddress.ip_network(n.strip(), strict=False)
                     for n in self.gateway_kiosk_allow_from.split(",") if n.strip())

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.gateway_algorithms.split(",") if a.strip())

    @property
    def directory_file(self) -> Path:
        """The routing table in force: the copy an admin saved from the console (in the data dir),
        else `directory_path`."""
        edited = self.data_dir / "directory.json"
        return edited if edited.exists() else self.directory_path

    def users_path(self, data_dir: Path | None = None) -> Path:
        return self.users_file or (data_dir or self.data_dir) / "users.json"

    @property
    def dsn(self) -> str:
        return self.clickhouse_dsn or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def embedded_store(self) -> bool:
        """The store opens in this process (chdb://), not on a server every process may reach."""
        return self.dsn.startswith("chdb://")

    @property
    def group_instance_id(self) -> str | None:
        """The worker's static membership id, None for dynamic membership. Stable across restarts
        and unique per worker: two workers of one deployment never share a data dir (RocksDB and
        the embedded store lock it)."""
        if self.worker_instance_id.lower() == "none":
            return None
        if self.worker_instance_id:
            return self.worker_instance_id
        import hashlib
        import socket

        where = hashlib.blake2b(str(self.data_dir.resolve()).encode(), digest_size=4).hexdigest()
        return f"{socket.gethostname()}-{where}"

    @property
    def worker_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def review_group(self) -> str:
        return f"{self.app_id}-reviews"

    @property
    def writer_group(self) -> str:
        return f"{self.app_id}-writer"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def as_env(self) -> dict[str, str]:
        """These settings as HAOCHA_* variables, so a child `haocha` process sees exactly them."""
        return settings_as_env(self)


def settings_as_env(settings: BaseSettings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"HAOCHA_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def load() -> Settings:
    return Settings()
