"""The one setting change notifications need: Headwater's public webhook URL, per connector instance.

Every Microsoft connector declares it the same way (`declare_change_notifications`, a sync custom
field `notificationUrl`); `notification_url_of` reads it from the instance config. Empty means
polling only: the scheduled sync finds every change, nothing is subscribed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headwater.connectors.core.builder import ConnectorConfigBuilder
from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.core.definitions import CustomField

NOTIFICATION_URL = "notificationUrl"


def declare_change_notifications(
    builder: ConnectorConfigBuilder, change_types: Sequence[str]
) -> ConnectorConfigBuilder:
    """The notification URL field and the WEBHOOK sync strategy, besides scheduled and manual syncs."""
    builder.add_sync_custom_field(
        CustomField(
            name=NOTIFICATION_URL,
            display_name="Change notification URL",
            field_type="URL",
            description=(
                "Headwater's public https address of POST /api/v1/webhooks/microsoft, e.g. "
                "https://headwater.example.com/api/v1/webhooks/microsoft. Empty: changes are found by the "
                "scheduled sync only"
            ),
        )
    )
    builder.with_webhook_config(True, list(change_types))
    return builder.with_sync_strategies(["SCHEDULED", "MANUAL", "WEBHOOK"])


def notification_url_of(config: Mapping[str, Any] | None) -> str | None:
    """The instance's notification URL (`sync.notificationUrl` or its `customValues`); None when unset.

    Raises:
        ConnectorInitError: it is set but is not an https URL (Graph delivers to https only)."""
    sync = config.get("sync") if isinstance(config, Mapping) else None
    if not isinstance(sync, Mapping):
        return None
    custom = sync.get("customValues")
    value = sync.get(NOTIFICATION_URL) or (
        custom.get(NOTIFICATION_URL) if isinstance(custom, Mapping) else None
    )
    url = str(value or "").strip()
    if not url:
        return None
    if not url.startswith("https://"):
        raise ConnectorInitError(
            "Change notification URL must start with https:// (Microsoft Graph delivers to https only); "
            "leave it empty to rely on the scheduled sync"
        )
    return url
