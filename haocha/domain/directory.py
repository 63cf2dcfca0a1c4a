"""The routing table: halls, windows and the department responsible for each window."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Window:
    window_id: str
    hall_id: str
    department_id: str
    name: str


@dataclass(frozen=True)
class Directory:
    departments: dict[str, str]  # id -> name
    halls: dict[str, str]
    windows: dict[str, Window]
    items: dict[str, list[tuple[str, str]]]  # department id -> (code, name)

    @classmethod
    def load(cls, path: Path) -> "Directory":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            departments={d["department_id"]: d["name"] for d in raw["departments"]},
            halls={h["hall_id"]: h["name"] for h in raw["halls"]},
            windows={w["window_id"]: Window(**w) for w in raw["windows"]},
            items={d["department_id"]: [(i["code"], i["name"]) for i in d.get("items", [])] for d in raw["departments"]},
        )

    def department_for(self, hall_id: str, window_id: str) -> str:
        """谁办理、谁负责: the window's department; unknown windows go to the hall's supervisors."""
        w = self.windows.get(window_id)
        if w is not None and w.hall_id == hall_id:
            return w.department_id
        return f"supervisor:{hall_id}"

    def department_name(self, department_id: str) -> str:
        if department_id.startswith("supervisor:"):
            hall = department_id.split(":", 1)[1]
            return f"{self.halls.get(hall, hall)}督办"
        return self.departments.get(department_id, department_id)

    def window_name(self, window_id: str) -> str:
        w = self.windows.get(window_id)
        return f"{self.halls.get(w.hall_id, w.hall_id)} {w.name}" if w else window_id
