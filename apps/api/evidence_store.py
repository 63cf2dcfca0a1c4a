"""Evidence files of rectifications, stored content-addressed under <data_dir>/evidence/.

A file lives once at `<sha256[:2]>/<sha256>` however many tickets cite it; each ticket keeps a
small JSON-lines index of what was uploaded for it (name, size, type, who, when). The type is
decided from the file's first bytes, never from its name or the browser's claim, so a renamed
executable is refused whatever it is called.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

TYPES = {  # extension -> content type
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Evidence:
    sha256: str
    name: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: str


def sniff(head: bytes, data: bytes | None = None) -> str | None:
    """The extension the bytes really are (pdf, jpg, png, docx, xlsx), or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"PK\x03\x04") and data is not None:
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
    return None


def type_for(name: str, data: bytes) -> str | None:
    """The content type if the name's extension is allowed and the bytes are of that kind."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    real = sniff(data[:16], data)
    if ext not in TYPES or real is None:
        return None
    if ext != real and {ext, real} != {"jpg", "jpeg"}:
        return None
    return TYPES[real]


def clean_name(name: str) -> str:
    """The file's own name without any path, control characters or quotes; at most 200 characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return base.strip()[:200] or "evidence"


class EvidenceStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def blob(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _index(self, ticket_id: str) -> Path:
        # The ticket id comes from a URL: the index file is named by its hash, never by the id.
        return self.root / "tickets" / f"{hashlib.sha256(ticket_id.encode()).hexdigest()[:40]}.jsonl"

    def put(self, ticket_id: str, data: bytes, meta: Evidence) -> Evidence:
        """Store the bytes (once) and add them to the ticket's index (once per name)."""
        path = self.blob(meta.sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        known = {(e.sha256, e.name) for e in self.list(ticket_id)}
        if (meta.sha256, meta.name) not in known:
            index = self._index(ticket_id)
            index.parent.mkdir(parents=True, exist_ok=True)
            with open(index, "a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(meta), ensure_ascii=False) + "\n")
        return meta

    def list(self, ticket_id: str) -> list[Evidence]:
        try:
            lines = self._index(ticket_id).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [Evidence(**json.loads(line)) for line in lines if line.strip()]

    def find(self, ticket_id: str, sha256: str) -> Evidence | None:
        """The evidence if it was uploaded for this ticket: a hash from another ticket is not found."""
        if not SHA256.fullmatch(sha256):
            return None
        return next((e for e in reversed(self.list(ticket_id)) if e.sha256 == sha256), None)
