"""The Luhn (mod 10) checksum of identification numbers."""

from __future__ import annotations

from typing import Any


def is_valid(value: Any) -> bool:
    """True for a string of at least two digits whose Luhn checksum is 0 mod 10."""
    digits = str(value).strip()
    if len(digits) < 2 or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
