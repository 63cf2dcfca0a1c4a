"""The report's tables with Chinese headers, shared by every renderer (terminal, csv, xlsx, html, pdf).

A cell is a raw value (int, float, str, None); `fmt` turns it into text, `kinds` say how.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from haocha.domain.metrics import METRICS, format_value
from apps.report.model import MonthlyReport, ScopeRow


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    kinds: list[str]  # text | count | rate | score | days | time | bool
    rows: list[list]


def fmt(kind: str, v) -> str:
    if v is None:
        return "—"
    if kind == "bool":
        return "是" if v else "否"
    if kind == "time":
        return v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v)
    if kind == "rate":
        return f"{v * 100:.1f}%"
    if kind in ("score", "days"):
        return f"{v:.2f}"
    return str(v)


def _metric_cells(r: ScopeRow) -> list:
    return [getattr(r, m.key) for m in METRICS]


_MH = [m.label for m in METRICS]
_MK = [m.kind for m in METRICS]


def summary(rep: MonthlyReport) -> Table:
    t = rep.totals
    rows = [["统计月份", rep.month], ["统计截至", fmt("time", rep.as_of)], ["时区", rep.timezone]]
    rows += [[m.label, format_value(m, getattr(t, m.key))] for m in METRICS]
    rows += [["未办结工单", str(rep.notes.open_tickets)], ["其中超期", str(rep.notes.overdue_tickets)],
             ["申诉成立（不计入）", str(rep.notes.invalidated)], ["迟报评价（已计入）", str(rep.notes.late_reviews)],
             ["跨月办结（往月差评本月办结）", str(rep.notes.carry_over)]]
    return Table("summary", "汇总", ["指标", "数值"], ["text", "text"], rows)


def departments(rep: MonthlyReport) -> Table:
    rows = [[d.id, d.name, *_metric_cells(d)] for d in [*rep.departments, rep.totals]]
    return Table("departments", "部门", ["部门编码", "部门", *_MH], ["text", "text", *_MK], rows)


def windows(rep: MonthlyReport) -> Table:
    rows = [[w.id, w.name, w.hall_id, w.department_id, *_metric_cells(w)] for w in rep.windows]
    return Table("windows", "窗口", ["窗口编码", "窗口", "大厅", "部门编码", *_MH],
                 ["text", "text", "text", "text", *_MK], rows)


def open_tickets(rep: MonthlyReport) -> Table:
    rows = [[o.ticket_id or "—", o.review_id, o.department_name, o.window_name, o.rating, o.happened_at,
             o.opened_at, o.resolve_due, o.stage_label, o.contacted, o.overdue, o.escalated, o.working_days_open,
             "、".join(o.reasons)] for o in rep.open_tickets]
    return Table("open_tickets", "未办结及超期工单",
                 ["工单号", "评价编号", "责任部门", "窗口", "评分", "评价时间", "建单时间", "整改期限", "当前环节",
                  "已回访", "超期", "已督办", "已用工作日", "差评原因"],
                 ["text", "text", "text", "text", "count", "time", "time", "time", "text", "bool", "bool", "bool",
                  "days", "text"], rows)


def carry_over(rep: MonthlyReport) -> Table:
    rows = [[c.ticket_id, c.review_id, c.review_month, c.department_name, c.window_name, c.rating, c.happened_at,
             c.closed_at, "整改" if c.resolution == "rectified" else "解释说明", c.on_time, c.working_days_to_close]
            for c in rep.carry_over]
    return Table("carry_over", "跨月办结",
                 ["工单号", "评价编号", "差评月份", "责任部门", "窗口", "评分", "评价时间", "办结时间", "办结方式",
                  "按时", "办结工作日"],
                 ["text", "text", "text", "text", "text", "count", "time", "time", "text", "bool", "days"], rows)


_BY = {"satisfaction": ("满意度", "score"), "bad_rate": ("差评率", "rate")}
_SCOPE = {"window": "窗口", "department": "部门"}


def rankings(rep: MonthlyReport) -> Table:
    rows = []
    for rk in rep.rankings:
        label, _ = _BY[rk.by]
        for e in rk.entries:
            rows.append([f"{_SCOPE[rk.scope]}·{label}{'最低' if rk.order == 'asc' else '最高'}", e.rank, e.name,
                         fmt(_BY[rk.by][1], e.value), e.reviews])
    return Table("rankings", "排名（后进）", ["榜单", "名次", "名称", "数值", "评价数"],
                 ["text", "count", "text", "text", "count"], rows)


def all_tables(rep: MonthlyReport) -> list[Table]:
    return [summary(rep), departments(rep), windows(rep), rankings(rep), open_tickets(rep), carry_over(rep)]


def text_rows(t: Table) -> list[list[str]]:
    return [[fmt(k, v) for k, v in zip(t.kinds, row)] for row in t.rows]
