"""Test connectors that authorise with OAuth against `tests.fakes.oauth_provider`:

* "Fake Cloud" (PKCE, an extra authorize parameter `access_type=offline`, a dynamic `folders`
  filter whose options come from the connector): init needs an access token in `credentials`;
  a sync writes nothing.
* "Fake Legacy Cloud": the same vendor flow without PKCE (`additional_params={"pkce": False}`) and
  with client credentials sent as HTTP Basic.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from headwater.connectors.core.apps import App
from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.definitions import FilterField, OAuthConfig
from headwater.connectors.core.filters import FilterOption, FilterOptionsResponse, FilterType
from headwater.models.entities import Record

FAKE_CLOUD = "Fake Cloud"
FAKE_LEGACY = "Fake Legacy Cloud"
AUTHORIZE_URL = "https://auth.fakecloud.test/authorize"
TOKEN_URL = "https://auth.fakecloud.test/token"
SCOPES = ["files.read", "offline_access"]
FOLDERS = ["Finance", "Engineering", "Marketing", "Engineering Archive"]


def _vendor_oauth(additional_params: dict[str, Any]) -> OAuthConfig:
    """The fake vendor's endpoints and scopes; the two connectors differ only in the extra parameters."""
    return OAuthConfig(
        authorize_url=AUTHORIZE_URL, token_url=TOKEN_URL, scopes=SCOPES, additional_params=additional_params
    )


class _FakeCloudBase(BaseConnector):
    def __init__(
        self, logger: Logger, processor: Any, provider: Any, config_service: Any, **kwargs: Any
    ) -> None:
        super().__init__(
            App(app_name="fakecloud", app_group="Fake"), logger, processor, provider, config_service, **kwargs
        )
        self.access_token: str | None = None

    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.access_token = ((config or {}).get("credentials") or {}).get("access_token")
        return bool(self.access_token)

    def test_connection_and_access(self) -> bool:
        return bool(self.access_token)

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        return b""

    async def run_sync(self) -> None:
        return None

    async def run_incremental_sync(self) -> None:
        return None

    def cleanup(self) -> None:
        return None

    async def get_filter_options(
        self,
        filter_key: str,
        page: int = 1,
        limit: int = 20,
        search: str | None = None,
        cursor: str | None = None,
    ) -> FilterOptionsResponse:
        found = [f for f in FOLDERS if not search or search.lower() in f.lower()]
        start = (page - 1) * limit
        chunk = found[start : start + limit]
        return FilterOptionsResponse(
            success=True,
            options=[FilterOption(id=f.lower().replace(" ", "-"), label=f) for f in chunk],
            page=page,
            limit=limit,
            has_more=start + limit < len(found),
        )


@(
    ConnectorBuilder(FAKE_CLOUD)
    .in_group("Fake")
    .with_description("A cloud drive that authorises with OAuth (tests)")
    .with_scopes(["personal", "team"])
    .configure(
        lambda b: b.with_oauth_config(_vendor_oauth({"access_type": "offline"})).add_filter_field(
            FilterField(name="folders", display_name="Folders", filter_type=FilterType.LIST), "dynamic"
        )
    )
    .build_decorator()
)
class FakeCloudConnector(_FakeCloudBase):
    pass


@(
    ConnectorBuilder(FAKE_LEGACY)
    .in_group("Fake")
    .with_description("The same vendor's older flow: no PKCE, Basic client authentication (tests)")
    .configure(lambda b: b.with_oauth_config(_vendor_oauth({"pkce": False, "use_basic_auth": True})))
    .build_decorator()
)
class FakeLegacyCloudConnector(_FakeCloudBase):
    pass
