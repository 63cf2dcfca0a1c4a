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
# The country code is kept as written; the number itself is masked like the phone field.
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)((?:\+?86[- ]?)?)(1[3-9]\d{9})(?!\d)")


def mask_phones_in_text(text: str | None) -> str | None:
    return _MOBILE_IN_TEXT.sub(lambda m: m.group(1) + mask_phone(m.group(2)), text) if text else text


_MOBILE_IN_BYTES = re.compile(rb"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_phones_in_bytes(raw: bytes) -> bytes:
    """The same for bytes that are not text (a dead letter's raw input): digits are ASCII anyway."""
    return _MOBILE_IN_BYTES.sub(lambda m: mask_phone(m.group(0).decode("ascii")).encode("ascii"), raw)


# What people type: a phone number may be in any of these (the evaluator's comment, the officer's
# notes). Masked wherever they are stored or exported; the ticket's own phone field is the one
# exception, and only its handling officer sees it.
FREE_TEXT_FIELDS = ("comment", "note", "measures", "message", "explanation", "argument", "reason", "item_name")


def mask_free_text(fields: dict) -> dict:
    """A copy of `fields` (an event's or a review's JSON) with phone numbers masked in its free text."""
    out = dict(fields)
    for name in FREE_TEXT_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = mask_phones_in_text(out[name])
    return out
