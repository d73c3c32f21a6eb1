"""The contract kit itself: a connector written the playbook's way passes every check, and each
deliberately broken variant is caught by the check for the rule it breaks, with a message that
says so. Runs on every store backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater.connectors import testing
from headwater.connectors.core.connector import BaseConnector
from headwater.store.base import GraphStore

from .memo import (
    BAD_TOKEN,
    AlwaysOkMemoConnector,
    CrashingMemoConnector,
    LeakyMessageMemoConnector,
    LoggingLeakMemoConnector,
    MemoConnector,
    MemoServer,
    NeverDeletesMemoConnector,
    NoPermissionsMemoConnector,
    RewritingMemoConnector,
    factories,
)

run = asyncio.run
CID = "memo-1"


def test_the_playbook_connector_passes_the_whole_contract(store: GraphStore) -> None:
    server = MemoServer().seed()
    make, make_bad = factories(MemoConnector, server, store)
    report = run(
        testing.run_contract(
            make,
            store,
            connector_cls=MemoConnector,
            connector_id=CID,
            delete_in_source=lambda: server.delete_note("note-2"),
            make_bad_connector=make_bad,
            bad_secret=BAD_TOKEN,
        )
    )
    assert report.skipped == []
    assert report.passed == {
        "metadata": "connector 'Memo'",
        "unchanged re-sync": "5 records, nothing rewritten",
        "permission decision": "5 records",
        "deletes propagate": "'note-2' deleted",
        "bad credentials": "init() raised ConnectorInitError: "
        "Memo rejected the API token (401): check it and save again",
    }
    with store.read() as tx:
        left = sorted(d["externalRecordId"] for d in tx.find_nodes("records", connector_id=CID))
    assert left == ["note-1", "note-3", "note-4", "note-5"]


def test_run_contract_lists_the_checks_it_could_not_run(store: GraphStore) -> None:
    server = MemoServer().seed()
    make, _ = factories(MemoConnector, server, store)
    report = run(testing.run_contract(make, store, connector_id=CID))
    assert sorted(report.passed) == ["metadata", "permission decision", "unchanged re-sync"]
    assert report.skipped == [
        "deletes propagate (no delete_in_source)",
        "bad credentials (no make_bad_connector / bad_secret)",
    ]


def test_a_connector_that_rewrites_unchanged_records_is_caught(store: GraphStore) -> None:
    make, _ = factories(RewritingMemoConnector, MemoServer().seed(), store)
    with pytest.raises(testing.ContractError) as err:
        run(testing.check_full_then_unchanged_resync(make, store, CID))
    message = str(err.value)
    assert message.startswith("an unchanged re-sync wrote ")
    assert "5 new record-events event(s)" in message
    assert "was rewritten (fields externalRevisionId, sourceLastModifiedTimestamp, " in message


def test_a_connector_that_never_deletes_is_caught(store: GraphStore) -> None:
    server = MemoServer().seed()
    make, _ = factories(NeverDeletesMemoConnector, server, store)
    run(testing.check_full_then_unchanged_resync(make, store, CID))  # it passes this one
    with pytest.raises(testing.ContractError) as err:
        run(testing.check_deletes_propagate(make, store, lambda: server.delete_note("note-4"), CID))
    assert str(err.value) == (
        "deleting 'note-4' in the source did not propagate: record 'note-4' is still in the store; "
        "its files document is still in the store; 1 belongsTo edge(s) still touch it; "
        "1 inheritPermissions edge(s) still touch it; 1 isOfType edge(s) still touch it (and 1 more)"
    )


def test_a_record_without_a_permission_decision_is_caught(store: GraphStore) -> None:
    make, _ = factories(NoPermissionsMemoConnector, MemoServer().seed(), store)
    run(testing.sync_once(make, store, CID))
    with pytest.raises(testing.ContractError) as err:
        run(testing.check_every_record_has_a_permission_decision(store, CID))
    assert str(err.value) == (
        "5 of 5 record(s) have no permission decision (no grant, none inherited): "
        "note-1 (note 1.md); note-2 (note 2.md); note-3 (note 3.md); note-4 (note 4.md); "
        "note-5 (note 5.md)"
    )


def test_a_direct_grant_is_a_decision_too(store: GraphStore) -> None:
    make, _ = factories(NoPermissionsMemoConnector, MemoServer().seed(), store)
    run(testing.sync_once(make, store, CID))
    with store.transaction() as tx:
        for doc in tx.find_nodes("records", connector_id=CID):
            tx.upsert_edges(
                "permissions",
                [{"_from": "anyone/contract-org", "_to": f"records/{doc['_key']}", "role": "READER"}],
            )
    assert run(testing.check_every_record_has_a_permission_decision(store, CID)) == 5


@pytest.mark.parametrize(
    ("connector_cls", "expected"),
    [
        (
            LeakyMessageMemoConnector,
            "the ConnectorInitError message contains the bad secret",
        ),
        (
            CrashingMemoConnector,
            "init() with bad credentials raised MemoAuthError (401 Unauthorized); return False or "
            "raise ConnectorInitError with a message for the user",
        ),
        (LoggingLeakMemoConnector, "the bad secret appears in 1 log line(s) of the connector"),
        (
            AlwaysOkMemoConnector,
            "with bad credentials, init() succeeded and test_connection_and_access() is True",
        ),
    ],
)
def test_bad_credential_handling_is_checked(store: GraphStore, connector_cls: Any, expected: str) -> None:
    _, make_bad = factories(connector_cls, MemoServer().seed(), store)
    with pytest.raises(testing.ContractError) as err:
        run(testing.check_bad_credentials(make_bad, BAD_TOKEN))
    assert str(err.value) == expected
    assert BAD_TOKEN not in str(err.value)


def test_bad_credentials_accepts_init_returning_false(store: GraphStore) -> None:
    _, make_bad = factories(LoggingLeakMemoConnector, MemoServer().seed(), store)

    async def quiet() -> BaseConnector:
        connector = await make_bad()
        connector.logger = __import__("logging").getLogger("test.memo.quiet")
        connector.init = lambda: _false()  # type: ignore[method-assign]
        return connector

    async def _false() -> bool:
        return False

    assert run(testing.check_bad_credentials(quiet, BAD_TOKEN)) == "init() returned False"


def test_metadata_of_the_playbook_connector(store: GraphStore) -> None:
    meta = testing.check_metadata(MemoConnector)
    assert meta["name"] == "Memo"
    assert meta["supportedAuthTypes"] == ["API_TOKEN"]


def test_metadata_problems_are_named() -> None:
    class Undecorated(MemoConnector):
        pass

    del_meta = {k: v for k, v in vars(MemoConnector).items() if k == "_connector_metadata"}
    assert del_meta  # the decorator put it on the class
    Undecorated._connector_metadata = None  # type: ignore[attr-defined]
    with pytest.raises(testing.ContractError) as err:
        testing.check_metadata(Undecorated)
    assert str(err.value) == (
        "Undecorated has no _connector_metadata: decorate it with "
        "@(ConnectorBuilder(...)...build_decorator())"
    )

    class Broken(MemoConnector):
        pass

    meta = dict(MemoConnector._connector_metadata)  # type: ignore[attr-defined]
    config = dict(meta["config"])
    auth = dict(config["auth"])
    schema = dict(auth["schemas"]["API_TOKEN"])
    schema["fields"] = [{"name": "", "displayName": "Token"}, {"name": "x", "displayName": ""}]
    auth["schemas"] = {"API_TOKEN": schema}
    config["auth"] = auth
    del config["iconPath"]
    meta["config"] = config
    meta["appGroup"] = ""
    Broken._connector_metadata = meta  # type: ignore[attr-defined]
    with pytest.raises(testing.ContractError) as err:
        testing.check_metadata(Broken)
    assert str(err.value) == (
        "Broken metadata: metadata has no appGroup (.in_group(...)); config has no 'iconPath'; "
        "auth schema API_TOKEN: field #1 has no name; auth schema API_TOKEN: field 'x' has no displayName"
    )


def test_an_abstract_connector_is_caught() -> None:
    from headwater.connectors.core.connector import BaseConnector as Base

    class Half(Base):
        _connector_metadata = MemoConnector._connector_metadata  # type: ignore[attr-defined]
        _is_connector = True

    with pytest.raises(testing.ContractError) as err:
        testing.check_metadata(Half)
    assert str(err.value).startswith("Half metadata: abstract methods not implemented: cleanup, ")


def test_a_sync_that_writes_nothing_is_not_a_pass(store: GraphStore) -> None:
    server = MemoServer()  # not seeded
    make, _ = factories(MemoConnector, server, store)
    with pytest.raises(testing.ContractError) as err:
        run(testing.check_full_then_unchanged_resync(make, store, CID))
    assert str(err.value).startswith("a full sync wrote no records for connector 'memo-1'")
