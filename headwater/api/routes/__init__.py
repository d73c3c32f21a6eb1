"""The API's routers, one module per resource; `headwater.api.app` includes each module's `router`."""
