"""A generated sample (apps/report/sample.py) in a fresh embedded ClickHouse store, as the writer
leaves it, and the monthly report read back from there."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from apps.report.model import MonthlyReport
from apps.report.monthly import build_monthly_report
from apps.report.sample import Sample
from haocha.domain.tickets import fold_all
from sinks.clickhouse import ClickHouseStore


def sample_report(where: Path, db: str, sample: Sample, as_of: datetime, directory, calendar,
                  month: str = "2021-05") -> MonthlyReport:
    store = ClickHouseStore(f"chdb://{where}", db)
    try:
        store.migrate()
        store.write_reviews(sample.reviews)
        store.write_ticket_events(sample.all_events)
        store.write_ticket_states([fold_all(e).model_dump(mode="json") for e in sample.events.values()])
        return build_monthly_report(store, month, as_of, directory, calendar)
    finally:
        store.close()
