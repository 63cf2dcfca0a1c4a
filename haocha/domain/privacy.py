"""Masking of personal data. The evaluator's phone number leaves the ticket only masked."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.lstrip("+")
    keep_head, keep_tail = (3, 4) if len(digits) >= 11 else (1, 2)
    if len(digits) <= keep_head + keep_tail:
        return "*" * len(phone)
    prefix = phone[: len(phone) - len(digits)]
    return prefix + digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]
