"""Masking of personal data. The evaluator's phone number leaves the ticket only masked."""

from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.lstrip("+")
    keep_head, keep_tail = (3, 4) if len(digits) >= 11 else (1, 2)
    if len(digits) <= keep_head + keep_tail:
        return "*" * len(phone)
    prefix = phone[: len(phone) - len(digits)]
    return prefix + digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]


# Mainland mobile numbers inside free text (an evaluator may type one into a comment).
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")


def mask_phones_in_text(text: str | None) -> str | None:
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text) if text else text
