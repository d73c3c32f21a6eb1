"""What the CLI and the HTTP API both do, written once: connector instances and their config, dry
runs, syncs with progress, run history, records and users, search, workers, resetting the data
directory.

Nothing here imports Typer, rich or FastAPI (DESIGN.md "Which part may use which"): functions take
`Settings` and plain values, return plain data (dicts and dataclasses), and raise `HeadwaterError`
subclasses whose message is one line a user can act on.
"""
