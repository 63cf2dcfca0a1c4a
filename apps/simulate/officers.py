"""Simulated rectification officers and supervisors working the month's tickets through the HTTP
API, the same command path real officers use. Each ticket's story is drawn from a seed; times are
simulated (the admin's `at` backfill), so the month's deadlines and report are realistic."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

import httpx


def plan_ticket(ticket: dict, rng: random.Random) -> list[tuple[str, dict, dict]]:
    """The commands for one ticket as (role, actor, body); bodies carry the simulated time."""
    dept = ticket["department_id"]
    officer = {"id": f"officer-{dept}", "role": "officer", "department_id": dept}
    supervisor = {"id": f"supervisor-{ticket['hall_id']}", "role": "supervisor", "department_id": None}
    t = datetime.fromisoformat(ticket["opened_at"])

    def at(hours_lo: float, hours_hi: float) -> str:
        nonlocal t
        t = t + timedelta(hours=rng.uniform(hours_lo, hours_hi))
        return t.isoformat()

    steps: list[tuple[str, dict, dict]] = [
        ("officer", officer, {"kind": "AssignTicket", "officer_id": officer["id"], "at": at(0.2, 3)}),
    ]
    fate = rng.random()
    if fate < 0.04:  # forgotten: it stays open and turns overdue, what keeps the rate below 100%
        return steps
    if ticket.get("real_name"):
        if rng.random() < 0.2:
            steps.append(("officer", officer, {"kind": "RecordContact", "reached": False, "note": "无人接听",
                                               "at": at(1, 6)}))
        steps.append(("officer", officer, {"kind": "RecordContact", "reached": True,
                                           "verdict": "属实" if rng.random() < 0.85 else "不属实", "at": at(1, 16)}))
    if fate < 0.07:
        steps.append(("officer", officer, {"kind": "FileAppeal", "ground": "mistaken",
                                           "argument": "评价人误操作,已电话确认", "at": at(2, 12)}))
        upheld = rng.random() < 0.5
        steps.append(("supervisor", supervisor, {"kind": "DecideAppeal", "upheld": upheld,
                                                 "reason": "复核属实" if upheld else "证据不足,继续整改",
                                                 "at": at(4, 30)}))
        if upheld:
            return steps
    if fate > 0.90:
        steps.append(("officer", officer, {"kind": "ExplainPolicy", "explanation": "诉求无政策依据,已解释说明",
                                           "at": at(4, 40)}))
    else:
        slow = rng.random() < 0.1  # some rectifications overrun the 5 working days
        steps.append(("officer", officer, {"kind": "RecordRectification", "measures": "窗口人员培训,优化流程",
                                           "evidence": ["培训记录.pdf"],
                                           "at": at(24 * 6, 24 * 12) if slow else at(6, 70)}))
        steps.append(("officer", officer, {"kind": "GiveFeedback", "message": "已整改并回复评价人",
                                           "at": at(1, 20)}))
    steps.append(("officer", officer, {"kind": "CloseTicket", "at": at(0.1, 2)}))
    return steps


def staff_of(tickets: list[dict]) -> list[dict]:
    """The simulated officers (one per department) and supervisors (one per hall) the stories act as."""
    staff = {}
    for t in tickets:
        if not t["department_id"].startswith("supervisor:"):
            staff[f"officer-{t['department_id']}"] = {"role": "officer", "department_id": t["department_id"]}
        staff[f"supervisor-{t['hall_id']}"] = {"role": "supervisor", "department_id": None}
    return [{"id": user_id, **fields} for user_id, fields in sorted(staff.items())]


async def ensure_staff(client: httpx.AsyncClient, tickets: list[dict]) -> None:
    """Register the simulated staff as users: an assignee must be a known, active officer of the
    ticket's department, for the simulator as for everyone. Already there (409) is fine."""
    for user in staff_of(tickets):
        resp = await client.post("/api/v1/admin/users", json=user)
        if resp.status_code not in (201, 409):
            raise RuntimeError(f"cannot register simulated {user['role']} {user['id']}: {resp.text[:200]}")


async def work_tickets(base_url: str, admin_token: str, tickets: list[dict], seed: int = 7,
                       concurrency: int = 24, not_after: datetime | None = None, on_progress=None) -> dict:
    """Run every ticket's story; stories of different tickets run side by side."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    stats = {"commands": 0, "accepted": 0, "refused": 0, "tickets": 0}
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        await ensure_staff(client, tickets)

        async def one(ticket: dict) -> None:
            rng = random.Random(f"{seed}:{ticket['ticket_id']}")
            async with sem:
                for _, actor, body in plan_ticket(ticket, rng):
                    if not_after and datetime.fromisoformat(body["at"]) > not_after:
                        break  # the month is over for the simulation: what is left stays open
                    resp = await client.post(f"/api/v1/tickets/{ticket['ticket_id']}/commands",
                                             json={**body, "act_as": actor})
                    stats["commands"] += 1
                    if resp.status_code == 200:
                        stats["accepted"] += 1
                    else:
                        stats["refused"] += 1
                        break
            stats["tickets"] += 1
            if on_progress:
                on_progress(stats["tickets"])

        await asyncio.gather(*(one(t) for t in tickets))
    return stats


async def list_all_tickets(base_url: str, admin_token: str) -> list[dict]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    out: list[dict] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        while True:
            resp = await client.get("/api/v1/tickets", params={"limit": 1000, "offset": len(out)})
            resp.raise_for_status()
            page = resp.json()["tickets"]
            out.extend(page)
            if len(page) < 1000:
                return out
