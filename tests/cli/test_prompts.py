"""Prompts generated from a form: each field type asked its way, answers checked as typed."""

from __future__ import annotations

import json
from typing import Any

import typer
from typer.testing import CliRunner

from headwater.cli.prompts import ask_form
from headwater.services.config_schema import ConfigField, Section

FIELDS = [
    ConfigField(Section.AUTH, "host", "Host", "URL", required=True),
    ConfigField(Section.AUTH, "verify", "Verify TLS", "CHECKBOX", default=True),
    ConfigField(Section.AUTH, "proxy", "Proxy", "URL", show_when=("verify", "equals", False)),
    ConfigField(Section.SYNC, "folders", "Folders", "TEXTAREA", required=True),
    ConfigField(Section.SYNC, "label", "Label", "TEXT"),
    ConfigField(
        Section.SYNC_FILTERS, "ext", "Extensions", "list", operators=("in", "not_in"), default_operator="in"
    ),
]


def ask(
    current: dict[str, Any], typed: list[str], given: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    app = typer.Typer()

    @app.command()
    def main() -> None:
        typer.echo("ANSWERS " + json.dumps(ask_form(FIELDS, current, given or {})))

    result = CliRunner().invoke(app, [], input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "ANSWERS " in line)
    return json.loads(line.split("ANSWERS ", 1)[1]), result.stderr


def test_each_field_is_asked_its_way_and_checked() -> None:
    answers, said = ask(
        {"auth.verify": True},
        # host: not a URL, then one; verify: no -> the proxy is asked; two folders; label: Enter; ext
        [
            "intranet",
            "https://intranet.test",
            "n",
            "http://proxy.test",
            "/srv/a",
            "/srv/b",
            "",
            "",
            "not_in: tmp",
        ],
    )
    assert answers == {
        "auth.host": "https://intranet.test",
        "auth.verify": False,
        "auth.proxy": "http://proxy.test",
        "sync.folders": "/srv/a\n/srv/b",
        "filters.sync.ext": "not_in: tmp",
    }
    assert "'intranet' is not an http:// or https:// URL" in said


def test_enter_keeps_current_values_and_dash_clears_an_optional_one() -> None:
    current = {
        "auth.host": "https://a.test",
        "auth.verify": True,
        "sync.folders": "/srv/a",
        "sync.label": "x",
    }
    answers, said = ask(current, ["", "", "", "-", ""], given={"ext": "in:md"})
    assert answers == {"sync.label": None}
    assert "now: /srv/a" in said
    assert "Extensions" not in said  # given with --set: not asked


def test_a_required_field_insists() -> None:
    answers, said = ask({}, ["", "https://a.test", "", "", "/srv/a", "", "", ""])
    assert said.count("a value is needed") == 2  # the host, then the folders
    assert answers["sync.folders"] == "/srv/a"
