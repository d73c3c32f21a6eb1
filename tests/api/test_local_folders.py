"""Local FS through the API: admins only, team instances only, folders inside the operator's
HEADWATER_LOCALFS_ROOTS only, never Headwater's own data; and no answer tells whether a folder
outside the roots exists."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.services.connectors import create_instance_with_config
from headwater.services.platform import config_key
from tests.api.conftest import ApiInstance, ClientFactory

pytestmark = pytest.mark.anyio
ADMIN, MEMBER = "admin@acme.test", "member@acme.test"


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    (shared / "team").mkdir(parents=True)
    (shared / "team" / "plan.md").write_text("# Plan")
    return shared


@pytest.fixture
def instance(instance: ApiInstance, roots: Path) -> ApiInstance:
    settings = instance.settings.model_copy(update={"localfs_roots": (roots,)})
    return dataclasses.replace(instance, settings=settings)


Post = Callable[..., Awaitable[httpx.Response]]


def poster(client: httpx.AsyncClient) -> Post:
    async def post(
        folder: Path | str, scope: str = "team", name: str = "Docs", **extra: Any
    ) -> httpx.Response:
        body = {"name": name, "type": "Local FS", "scope": scope, "config": {"folders": str(folder)}}
        return await client.post("/api/v1/connectors", json=body | extra)

    return post


def message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


async def test_members_may_not_add_or_change_local_folders(
    client_for: ClientFactory, roots: Path, app: FastAPI, instance: ApiInstance
) -> None:
    member = await client_for(MEMBER)
    for scope in ("personal", "team"):
        refused = await poster(member)(roots / "team", scope=scope)
        assert refused.status_code == 403, refused.text
        assert "only an admin" in message(refused)
        assert "server's own disk" in message(refused)
    # one a member made before (through the command line, say) cannot be changed or enabled by them
    state = await holder_of(app).get()
    old = await create_instance_with_config(
        instance.settings, "Local FS", "Mine", {"folders": str(roots / "team")}, created_by=MEMBER
    )
    change = await member.patch(
        f"/api/v1/connectors/{old['id']}/config", json={"config": {"folders": "/"}, "check": False}
    )
    assert change.status_code == 403
    assert (await member.post(f"/api/v1/connectors/{old['id']}/disable")).status_code == 200
    assert (await member.post(f"/api/v1/connectors/{old['id']}/enable")).status_code == 403
    stored = await state.config.get(config_key(old["id"])) or {}
    assert stored["sync"]["folders"] == str(roots / "team")


async def test_admins_add_team_folders_inside_the_roots_only(
    client_for: ClientFactory, roots: Path, instance: ApiInstance, tmp_path_factory: pytest.TempPathFactory
) -> None:
    post = poster(await client_for(ADMIN))
    personal = await post(roots / "team", scope="personal")
    assert personal.status_code == 422
    assert "team connector" in message(personal)

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (roots / "escape").symlink_to(elsewhere)
    outside = [
        elsewhere,
        roots / "escape",  # a link inside a root that leads out
        f"{roots}/team/../../{elsewhere.name}",
        f"{roots}/../{roots.name}-not",
    ]
    for folder in outside:
        refused = await post(folder, check=False)  # refused even unchecked
        assert refused.status_code == 422, (folder, refused.text)
        assert "is outside the folders this server lets connectors read" in message(refused)
        assert "HEADWATER_LOCALFS_ROOTS" in message(refused)
    # a folder that does not exist outside the roots reads the same as one that does
    missing = await post(elsewhere / "no-such-folder")
    assert message(missing) == message(await post(elsewhere)).replace(
        str(elsewhere), str(elsewhere / "no-such-folder")
    )
    # inside a root, the connector's own checks speak (here: it does not exist)
    absent = await post(roots / "absent")
    assert absent.status_code == 422
    assert "does not exist" in message(absent)

    added = await post(roots / "team")
    assert added.status_code == 201, added.text
    assert added.json()["scope"] == "team"


async def test_a_root_never_opens_headwater_s_own_data(
    client_for: ClientFactory, instance: ApiInstance
) -> None:
    data_dir = instance.data_dir
    widened = instance.settings.model_copy(update={"localfs_roots": (data_dir.parent,)})
    assert widened.localfs_roots[0] in data_dir.parents
    from headwater.api import create_app
    from headwater.indexing.embeddings.testing import HashingEmbedder

    app = create_app(widened, embedder=HashingEmbedder())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anon:
            login = {"email": ADMIN, "password": "acme-admin-password"}
            csrf = (await anon.post("/api/v1/auth/login", json=login)).json()["csrfToken"]
            anon.headers["X-CSRF-Token"] = csrf
            for folder in (data_dir, data_dir / "index", data_dir.parent):
                refused = await poster(anon)(folder, check=False)
                assert refused.status_code == 422, (folder, refused.text)
                assert "Headwater's own data" in message(refused)
    finally:
        await holder_of(app).close()


async def test_changing_the_folders_keeps_to_the_roots(
    client_for: ClientFactory,
    roots: Path,
    app: FastAPI,
    instance: ApiInstance,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    admin = await client_for(ADMIN)
    cid = (await poster(admin)(roots / "team")).json()["id"]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    url = f"/api/v1/connectors/{cid}/config"
    for check in (True, False):
        moved = await admin.patch(url, json={"config": {"folders": str(elsewhere)}, "check": check})
        assert moved.status_code == 422
        assert "HEADWATER_LOCALFS_ROOTS" in message(moved)
    state = await holder_of(app).get()
    assert (await state.config.get(config_key(cid)) or {})["sync"]["folders"] == str(roots / "team")
    # an instance the operator added on the command line over a folder outside the roots: an admin
    # may still change its sharing (the folder is not new), not point it anywhere else
    operator = await create_instance_with_config(
        instance.settings, "Local FS", "Operator's", {"folders": str(elsewhere)}, scope="team"
    )
    shared = await admin.patch(
        f"/api/v1/connectors/{operator['id']}/config", json={"config": {"shareWithUsers": MEMBER}}
    )
    assert shared.status_code == 200, shared.text
    other = tmp_path_factory.mktemp("other")
    assert (
        await admin.patch(
            f"/api/v1/connectors/{operator['id']}/config", json={"config": {"folders": str(other)}}
        )
    ).status_code == 422


async def test_the_forms_offer_local_folders_as_team_connectors(client_for: ClientFactory) -> None:
    admin = await client_for(ADMIN)
    form = (await admin.get("/api/v1/connector-types/localfs/form")).json()
    assert form["scopes"] == ["team"]
