"""Epoch-millisecond timestamps, the unit every stored document uses."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
