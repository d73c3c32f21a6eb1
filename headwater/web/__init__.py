"""The web UI: server-rendered pages (Jinja2) with a little of our own JavaScript; no build step."""
