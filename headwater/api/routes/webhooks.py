"""Webhooks: change notifications from Microsoft Graph.

`POST /api/v1/webhooks/microsoft` takes no credentials: Graph cannot send any. What it trusts is the
clientState each notification carries, a random secret per subscription kept in the config store
(see `headwater.connectors.sources.microsoft.notifications`). A notification with an unknown
subscription or another clientState is dropped; nothing it says is acted on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from headwater.api.deps import StateDep
from headwater.api.errors import error_json, error_responses
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.sources.microsoft.notifications.receiver import receive

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class NotificationReceipt(BaseModel):
    """How many notifications of the delivery were believed and how many dropped."""

    accepted: int
    rejected: int


_NOTIFICATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": (
            "A change notification collection. Absent when Graph validates the URL "
            "(then `validationToken` is set)."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "value": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "subscriptionId": {"type": "string"},
                                    "clientState": {"type": "string"},
                                    "changeType": {"type": "string"},
                                    "resource": {"type": "string"},
                                    "lifecycleEvent": {"type": "string"},
                                    "tenantId": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        },
    },
    "parameters": [
        {
            "name": "validationToken",
            "in": "query",
            "required": False,
            "description": "Sent by Graph when a subscription is created: echoed back as text/plain.",
            "schema": {"type": "string", "minLength": 1},
        }
    ],
}


@router.post(
    "/microsoft",
    summary="Receive Microsoft Graph change notifications",
    status_code=202,
    response_model=NotificationReceipt,
    openapi_extra=_NOTIFICATION_BODY,
    responses={
        200: {
            "description": "The validation handshake: the validationToken, echoed",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        202: {"description": "The notifications were checked; believed ones queue a sync of their scope"},
        **error_responses(400, 413),
    },
)
async def microsoft_notifications(request: Request, state: StateDep) -> Response:
    """Graph's validation handshake (`?validationToken=...`: 200 with the token as text/plain) and
    change notifications (checked by clientState; each believed one marks its folder or drive as
    changed and asks for a sync of its connector instance, which then syncs that scope)."""
    engine = SyncEngine(state.store, state.config)
    answer = await receive(
        request.query_params,
        await request.body(),
        store=state.store,
        config=state.config,
        request_sync=engine.request_sync,
        content_type=request.headers.get("content-type", ""),
    )
    if answer.status == 200:
        return PlainTextResponse(answer.body, status_code=200)
    if answer.status == 202:
        return JSONResponse({"accepted": answer.accepted, "rejected": answer.rejected}, status_code=202)
    code = "bad_request" if answer.status == 400 else "payload_too_large"
    return error_json(answer.status, code, answer.body)
