"""The generated connector form (secrets write-only, conditional fields, errors next to the field),
asking a question, and the settings page (API tokens shown once, users for admins only)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.connectors.core.factory import ConnectorFactory
from tests.cli.notes_connector import NOTES, NotesFolderConnector

from .conftest import ClientFactory
from .seed import Seeded

pytestmark = pytest.mark.anyio

SECRET = "notes-token-that-must-never-show-0123"


@pytest.fixture
def notes_type() -> Iterator[str]:
    ConnectorFactory.register_connector(NOTES, NotesFolderConnector)
    try:
        yield "notesfolder"
    finally:
        ConnectorFactory.unregister_connector(NOTES)


@pytest.fixture
def notes_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / ".token").write_text(SECRET)
    (folder / "a.txt").write_text("alpha")
    return folder


async def test_the_form_is_generated_from_the_builder_schema(
    browser_for: ClientFactory, notes_type: str
) -> None:
    admin = await browser_for("admin@acme.test")
    page = await admin.get(f"/connectors/new/{notes_type}")
    assert page.status_code == 200
    html = page.text
    assert "<legend>Authentication</legend>" in html
    assert 'type="password" name="auth.apiToken"' in html
    assert '<option value="thorough">' in html  # static options
    assert 'name="filters.sync.file_extensions.operator"' in html  # a filter with its operators
    interval = re.search(
        r'<div class="field" data-show-if="([^"]+)">\s*<label for="f-sync-intervalMinutes"', html
    )
    assert interval is not None
    rule = json.loads(interval.group(1).replace("&#34;", '"'))
    assert rule == {"field": "sync.strategy", "operator": "equals", "value": "SCHEDULED"}


async def test_a_wrong_value_is_said_next_to_its_field_and_the_secret_is_not_echoed(
    browser_for: ClientFactory, notes_type: str, notes_folder: Path
) -> None:
    admin = await browser_for("admin@acme.test")
    response = await admin.post(
        f"/connectors/new/{notes_type}",
        data={
            "csrf_token": admin.csrf_token,  # type: ignore[attr-defined]
            "name": "Notes",
            "scope": "team",
            "auth.folder": str(notes_folder),
            "auth.apiToken": SECRET,
            "auth.pageSize": "lots",
            "sync.strategy": "MANUAL",
        },
    )
    assert response.status_code == 422
    assert 'id="auth-pageSize-error"' in response.text
    assert "is not a number" in response.text
    assert SECRET not in response.text
    assert 'value="Notes"' in response.text  # what was typed stays


async def test_a_missing_required_field_is_marked(browser_for: ClientFactory, notes_type: str) -> None:
    admin = await browser_for("admin@acme.test")
    response = await admin.post(
        f"/connectors/new/{notes_type}",
        data={"csrf_token": admin.csrf_token, "name": "Notes", "scope": "team"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 422
    assert 'id="auth-folder-error"' in response.text


async def test_a_secret_is_never_sent_back_and_an_empty_one_keeps_its_value(
    browser_for: ClientFactory, notes_type: str, notes_folder: Path
) -> None:
    admin = await browser_for("admin@acme.test")
    token = admin.csrf_token  # type: ignore[attr-defined]
    created = await admin.post(
        f"/connectors/new/{notes_type}",
        data={
            "csrf_token": token,
            "name": "Notes",
            "scope": "team",
            "auth.folder": str(notes_folder),
            "auth.apiToken": SECRET,
            "sync.strategy": "MANUAL",
        },
    )
    assert created.status_code == 303, created.text
    detail_url = created.headers["location"]
    page = await admin.get(detail_url)
    assert "Connector added" in page.text
    assert SECRET not in page.text
    assert "•••• set" in page.text
    connector_id = detail_url.split("/")[2].split("?")[0]
    saved = await admin.post(
        f"/connectors/{connector_id}/config",
        data={
            "csrf_token": token,
            "name": "Notes renamed",
            "auth.folder": str(notes_folder),
            "auth.apiToken": "",
        },
    )
    assert saved.status_code == 303, saved.text
    page = await admin.get(saved.headers["location"])
    assert "Notes renamed" in page.text
    assert "•••• set" in page.text  # the stored token was kept (and the connection check passed with it)
    assert SECRET not in page.text
    member = await browser_for("member@acme.test")
    assert SECRET not in (await member.get(f"/connectors/{connector_id}")).text


async def test_a_member_cannot_add_a_team_connector(
    browser_for: ClientFactory, notes_type: str, notes_folder: Path
) -> None:
    member = await browser_for("member@acme.test")
    form = await member.get(f"/connectors/new/{notes_type}")
    assert 'value="team"' not in form.text
    response = await member.post(
        f"/connectors/new/{notes_type}",
        data={
            "csrf_token": member.csrf_token,  # type: ignore[attr-defined]
            "name": "Sneaky",
            "scope": "team",
            "auth.folder": str(notes_folder),
            "auth.apiToken": SECRET,
            "sync.strategy": "MANUAL",
        },
    )
    assert response.status_code == 422
    assert 'id="scope-error"' in response.text


async def test_asking_answers_with_citations_from_readable_documents(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    member = await browser_for("member@acme.test")
    token = member.csrf_token  # type: ignore[attr-defined]
    page = await member.post(
        "/ask", data={"csrf_token": token, "question": "When does the lighthouse rota start?"}
    )
    assert page.status_code == 200
    assert f'href="/records/{seeded.records["harbour-plan.md"]}"' in page.text
    assert "salaries" not in page.text
    streamed = await member.post(
        "/ask/stream", data={"question": "lighthouse keepers"}, headers={"X-CSRF-Token": token}
    )
    assert streamed.status_code == 200
    lines = [json.loads(line) for line in streamed.text.splitlines() if line]
    assert any("delta" in line for line in lines)
    assert "html" in lines[-1]
    assert "salaries" not in lines[-1]["html"]
    assert '<sup class="cite">' in lines[-1]["html"]
    refused = await member.post("/ask/stream", data={"question": "lighthouse"})
    assert refused.status_code == 403


async def test_an_empty_question_is_said_next_to_the_field(browser_for: ClientFactory) -> None:
    member = await browser_for("member@acme.test")
    page = await member.post("/ask", data={"csrf_token": member.csrf_token, "question": " "})  # type: ignore[attr-defined]
    assert page.status_code == 422
    assert 'id="question-error"' in page.text


async def test_an_api_token_is_shown_once_and_can_be_revoked(browser_for: ClientFactory) -> None:
    member = await browser_for("member@acme.test")
    csrf = member.csrf_token  # type: ignore[attr-defined]
    created = await member.post("/settings/tokens", data={"csrf_token": csrf, "token_name": "backup script"})
    assert created.status_code == 200
    shown = re.search(r'id="new-token">(hw_[^<]+)<', created.text)
    assert shown is not None
    token = shown.group(1)
    api = await member.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    later = await member.get("/settings")
    assert token not in later.text
    assert "backup script" in later.text
    token_id = re.search(r'action="/settings/tokens/([^/]+)/revoke"', later.text)
    assert token_id is not None
    revoked = await member.post(f"/settings/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert (await member.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_only_admins_manage_users(browser_for: ClientFactory) -> None:
    member = await browser_for("member@acme.test")
    assert "Add a user" not in (await member.get("/settings")).text
    refused = await member.post(
        "/settings/users",
        data={"csrf_token": member.csrf_token, "email": "x@acme.test"},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 403
    admin = await browser_for("admin@acme.test")
    csrf = admin.csrf_token  # type: ignore[attr-defined]
    bad = await admin.post(
        "/settings/users", data={"csrf_token": csrf, "email": "not-an-email", "role": "member"}
    )
    assert bad.status_code == 422
    assert 'id="email-error"' in bad.text
    added = await admin.post(
        "/settings/users",
        data={
            "csrf_token": csrf,
            "email": "new@acme.test",
            "name": "New Person",
            "role": "member",
            "password": "a-long-first-password",
        },
    )
    assert added.status_code == 303
    page = await admin.get(added.headers["location"])
    assert "new@acme.test" in page.text
    assert "other.test" not in page.text  # another organisation's users never show


async def test_failed_items_are_listed_with_retry_for_those_who_manage(
    browser_for: ClientFactory, app: object, instance: object, notes_type: str, notes_folder: Path
) -> None:
    from headwater.api.state import holder_of
    from headwater.connectors.core.engine import SyncEngine

    (notes_folder / "broken.bad").write_text("this one fails")
    admin = await browser_for("admin@acme.test")
    csrf = admin.csrf_token  # type: ignore[attr-defined]
    created = await admin.post(
        f"/connectors/new/{notes_type}",
        data={
            "csrf_token": csrf,
            "name": "Notes",
            "scope": "team",
            "auth.folder": str(notes_folder),
            "auth.apiToken": SECRET,
            "sync.strategy": "MANUAL",
        },
    )
    connector_id = created.headers["location"].split("/")[2].split("?")[0]
    state = await holder_of(app).get()  # type: ignore[arg-type]
    run = await SyncEngine(state.store, state.config).run_sync(connector_id)
    assert run["failed"] == 1, run
    page = await admin.get(f"/connectors/{connector_id}")
    assert 'id="failures"' in page.text
    assert "broken.bad" in page.text
    assert "1 failed" in page.text
    retried = await admin.post(f"/connectors/{connector_id}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 303
    assert "Retrying" in (await admin.get(retried.headers["location"])).text
    member = await browser_for("member@acme.test")
    seen = await member.get(f"/connectors/{connector_id}")
    assert seen.status_code == 200
    assert "broken.bad" not in seen.text  # failed items' names are for those who manage it
