"""Graph's timestamps ("2024-05-01T09:00:00Z", sometimes with fractions) as epoch milliseconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def graph_ms(value: Any) -> int | None:
    """Epoch milliseconds of a Graph `DateTimeOffset`; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)
