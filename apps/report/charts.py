"""Charts of the monthly report as PNG bytes (matplotlib, Agg, the CJK font embedded)."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

from apps.report.fonts import find_cjk_font
from apps.report.model import MonthlyReport


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    png: bytes


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    import matplotlib.pyplot as plt

    font = find_cjk_font()
    font_manager.fontManager.addfont(str(font.path))
    name = font_manager.FontProperties(fname=str(font.path)).get_name()
    plt.rcParams["font.family"] = [name]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _barh(plt, labels, values, title, xlabel, target=None, fmt="{:.1f}", color="#3b7dd8") -> bytes:
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.42 * len(labels) + 1.2)), dpi=110)
    ys = range(len(labels))
    ax.barh(list(ys), values, color=color)
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    for y, v in zip(ys, values):
        ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8)
    if target is not None:
        ax.axvline(target, color="#c0392b", linestyle="--", linewidth=1)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_charts(rep: MonthlyReport) -> list[Chart]:
    plt = _plt()
    depts = [d for d in rep.departments if d.reviews > 0]
    out = []
    rated = [d for d in depts if d.rectification_rate is not None]
    if rated:
        out.append(Chart("rectification", "各部门差评整改率", _barh(
            plt, [d.name for d in rated], [d.rectification_rate * 100 for d in rated], "各部门差评整改率 (%)",
            "差评整改率 %", target=100)))
    if depts:
        out.append(Chart("satisfaction", "各部门满意度", _barh(
            plt, [d.name for d in depts], [d.satisfaction for d in depts], "各部门满意度", "满意度 (0–100)",
            color="#27ae60")))
    bottom = next((r for r in rep.rankings if r.scope == "window" and r.by == "satisfaction"), None)
    if bottom and bottom.entries:
        out.append(Chart("bottom_windows", "满意度最低窗口", _barh(
            plt, [e.name for e in bottom.entries], [e.value for e in bottom.entries], "满意度最低窗口", "满意度",
            color="#e67e22")))
    if rep.open_tickets:
        per = Counter(o.department_name for o in rep.open_tickets)
        names = [n for n, _ in per.most_common()]
        out.append(Chart("open_tickets", "各部门未办结工单", _barh(
            plt, names, [per[n] for n in names], "各部门未办结工单", "工单数", fmt="{:.0f}", color="#8e44ad")))
    return out
