"""What one sync run did, counted by the processor: per-record outcomes and the failure ledger.

`DataSourceEntitiesProcessor.stats` counts at commit time, so the numbers say what was committed,
not what was attempted: a page whose transaction failed (and is retried by the next flush) is
counted once, when it finally commits.

  * discovered: records handed to the processor (`on_new_records`, moves, content / metadata
    updates), counted when handed in, bad ones included;
  * new / updated / unchanged: per committed record: no stored record (or a placeholder taken
    over) / the stored documents were rewritten (content or metadata) / nothing written;
  * deleted: records deleted (tombstones, cascades, sweeps, confirmed quarantines);
  * skipped: items the connector chose not to hand in (sync filters), through `record_skipped`;
  * failed: bad items recorded with `record_failure` (by the connector or the processor) and
    skipped; one bad item never aborts the run.

`ItemFailure` reasons are written for an administrator: they say what is wrong with the item, and
never carry secrets or whole payloads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class SyncStats:
    discovered: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: SyncStats) -> None:
        """Add `other`'s counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class ItemFailure:
    """One item that was recorded and skipped: its external id, why, when (epoch ms)."""

    external_id: str
    reason: str
    at_ms: int
    record_name: str | None = None


@dataclass
class SweepResult:
    """What `complete_scope` did to the records of one completely listed scope (external ids).

    `deleted`: removed now, each with a `deleteRecord` event. `quarantined`: unseen records the
    mass-deletion brake kept (marked, no events) when `braked`; they wait for
    `confirm_quarantined_deletions` or `release_quarantine`. `still_quarantined`: unseen records
    quarantined by an earlier sweep, still waiting (never deleted by a sweep). `released`:
    quarantined records seen again, their mark cleared. `total`: the scope's records before the
    sweep (placeholders aside); `seen`: external ids seen in the scope during the run. `swept` is
    False when the scope was never begun: then nothing was looked at or changed.
    """

    scope_id: str
    deleted: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    braked: bool = False
    still_quarantined: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    total: int = 0
    seen: int = 0
    swept: bool = True
