"""Serving the app with uvicorn inside a process that runs other things too (`headwater serve`):
in the caller's event loop, stopped by the caller's stop event, never touching signal handlers.

    server = ApiServer(app, "127.0.0.1", 8000)
    url = server.bind()          # listens now: a taken port is a clear error before anything starts
    await server.serve(stop)     # until stop is set; then finishes open requests and closes
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from headwater.errors import ConfigurationError, HeadwaterError

log = logging.getLogger("headwater.api")
SHUTDOWN_GRACE_S = 5.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process's stop event decides when to stop (its
    handlers would replace `headwater serve`'s and re-raise Ctrl-C after shutting down)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ApiServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None

    def bind(self) -> str:
        """Start listening; returns the base URL. ConfigurationError when the address is unusable."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f"the API cannot listen on {self.host}:{self.port}: {exc.strerror or exc} — is another "
                "Headwater (or something else) using it? Pass --port (or set HEADWATER_API_PORT)"
            ) from None
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    async def serve(self, stop: asyncio.Event) -> None:
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            proxy_headers=True,  # X-Forwarded-Proto from a local TLS proxy makes cookies Secure
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        )
        server = _EmbeddedServer(config)
        serving = asyncio.create_task(server.serve(sockets=[self._socket]))
        waiting = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([serving, waiting], return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            waiting.cancel()
            try:
                await serving
            except SystemExit:  # uvicorn exits this way when the app's startup fails
                raise HeadwaterError(
                    "the API did not start (its startup failed; the lines above say why)"
                ) from None
            finally:
                self._socket.close()
                self._socket = None
