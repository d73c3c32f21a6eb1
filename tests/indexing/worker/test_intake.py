"""Events about one node merge into one unit of work; offsets are committed only past done events."""

from __future__ import annotations

from headwater.events.base import Event
from headwater.indexing.intake import EventLedger, Need, WorkQueue, work_for


def _event(
    offset: int, event_type: str, payload: dict[str, object], partition: int = 0, topic: str = "record-events"
) -> Event:
    return Event(topic, partition, offset, str(payload.get("recordId", "")), event_type, dict(payload), None)


def test_events_map_to_the_node_they_are_about() -> None:
    assert work_for(_event(0, "newRecord", {"recordId": "k"})) == ("records/k", Need.CONTENT)
    assert work_for(_event(0, "reindexRecord", {"recordId": "k", "forceReindex": True})) == (
        "records/k",
        Need.CONTENT,
    )
    assert work_for(_event(0, "deleteRecord", {"recordId": "k"})) == ("records/k", Need.DELETE)
    assert work_for(_event(0, "bulkDeleteRecords", {"connectorId": "c"})) == ("apps/c", Need.DELETE)
    assert work_for(_event(0, "updatePermissions", {"nodeId": "recordGroups/g"}, topic="entity-events")) == (
        "recordGroups/g",
        Need.REFRESH,
    )
    assert work_for(_event(0, "updateMetadata", {"nodeId": "records/k"}, topic="entity-events")) == (
        "records/k",
        Need.REFRESH,
    )
    assert work_for(_event(0, "userAdded", {"userId": "u"}, topic="entity-events")) is None


def test_a_node_is_worked_on_once_at_a_time_and_its_later_events_follow() -> None:
    ledger, queue = EventLedger(), WorkQueue()
    for offset, kind in enumerate(["newRecord", "updateRecord", "updatePermissions"]):
        event = _event(offset, kind, {"recordId": "k", "nodeId": "records/k"})
        node, need = work_for(event) or ("", Need.REFRESH)
        queue.admit(node, need, ledger.add(event))
    [work] = queue.take(10)
    assert (work.node, work.need, len(work.tickets)) == (
        "records/k",
        Need.CONTENT,
        3,
    )  # three events, one indexing

    late = _event(3, "deleteRecord", {"recordId": "k"})
    queue.admit("records/k", Need.DELETE, ledger.add(late))
    assert queue.take(10) == []  # the node is in flight: its delete waits
    queue.finish(work)
    assert [e.offset for e in ledger.committable()] == [2]
    [follow] = queue.take(10)
    assert (follow.need, [t.event.offset for t in follow.tickets]) == (Need.DELETE, [3])


def test_offsets_are_committed_only_up_to_the_first_event_not_done() -> None:
    ledger, queue = EventLedger(), WorkQueue()
    for offset, key in enumerate(["a", "b", "c"]):
        queue.admit(
            f"records/{key}", Need.CONTENT, ledger.add(_event(offset, "newRecord", {"recordId": key}))
        )
    a, b, c = queue.take(10)
    queue.finish(b)
    queue.finish(c)
    assert ledger.committable() == []  # "a" (offset 0) is not done: nothing past it may be committed
    queue.finish(a)
    assert [e.offset for e in ledger.committable()] == [2]
    assert ledger.open_count == 0


def test_a_retry_waits_for_its_time_and_takes_what_arrived_meanwhile() -> None:
    ledger, queue = EventLedger(), WorkQueue()
    queue.admit("records/k", Need.REFRESH, ledger.add(_event(0, "updateMetadata", {"nodeId": "records/k"})))
    [work] = queue.take(10)
    queue.admit("records/k", Need.CONTENT, ledger.add(_event(1, "updateRecord", {"recordId": "k"})))
    queue.retry(work, delay_s=60)
    assert queue.take(10) == []
    assert queue.next_ready_in() is not None
    assert queue.next_ready_in() > 50
    [again] = queue.take(10, now=float("inf"))
    assert again is work
    assert again.need is Need.CONTENT
    assert len(again.tickets) == 2
