"""The gateway's settings (HAOCHA_GATEWAY_*); part of haocha.settings.Settings, the one settings
object, which inherits them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOCHA_", frozen=True, extra="ignore")

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

    @property
    def kiosk_networks(self) -> tuple:
        import ipaddress

        return tuple(ipaddress.ip_network(n.strip(), strict=False)
                     for n in self.gateway_kiosk_allow_from.split(",") if n.strip())

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.gateway_algorithms.split(",") if a.strip())
