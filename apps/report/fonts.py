"""Finds the CJK font installed by deploy/install-fonts.sh (Noto Sans CJK or WenQuanYi Micro Hei)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)


class FontMissingError(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    path: Path
    index: int  # face number inside a .ttc collection (the Simplified Chinese one)
    family: str


@lru_cache(maxsize=1)
def find_cjk_font() -> CjkFont:
    """The CJK font to embed; HAOCHA_CJK_FONT overrides. A clear error when none is installed."""
    paths = [os.environ["HAOCHA_CJK_FONT"]] if os.environ.get("HAOCHA_CJK_FONT") else list(CANDIDATES)
    for p in paths:
        path = Path(p)
        if path.is_file():
            return CjkFont(path, _sc_face(path), "HaochaCJK")
    raise FontMissingError(
        "no CJK font found for the report's charts, HTML and PDF (looked for "
        + ", ".join(paths) + "). Install one with `sudo deploy/install-fonts.sh` "
        "(Debian fonts-noto-cjk or fonts-wqy-microhei), or set HAOCHA_CJK_FONT to a .ttf/.otf/.ttc file."
    )


def _sc_face(path: Path) -> int:
    if path.suffix.lower() != ".ttc":
        return 0
    try:
        from fontTools.ttLib import TTCollection

        for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
            names = " ".join(str(n) for n in font["name"].names if n.nameID in (1, 4))
            if " SC" in names or "Simplified" in names:
                return i
    except Exception:  # an unreadable collection: its first face still has the glyphs
        return 0
    return 0
