"""The schema check is real: it catches shapes Graph never sends."""

from __future__ import annotations

from headwater.testing.fake_graph import SchemaValidator


def test_validator_flags_wrong_types_and_names() -> None:
    validator = SchemaValidator()
    validator.check_entity(
        "driveItem", {"id": "x", "size": "12", "file": {"mimetype": "text/plain"}}, where="t"
    )
    validator.check_entity("user", {"id": "u", "accountEnabled": "yes"}, where="t")
    validator.check_collection(
        "user",
        {"value": [], "@odata.nextLink": "/users?$skiptoken=x", "@odata.deltaLink": "https://a/b"},
        where="t",
    )
    joined = "\n".join(validator.violations)
    assert "driveItem size" in joined
    assert "driveItem file" in joined
    assert "user accountEnabled" in joined
    assert "is not an absolute URL" in joined
    assert "should not be valid" in joined


def test_validator_accepts_graph_shapes() -> None:
    validator = SchemaValidator()
    validator.check_entity(
        "driveItem",
        {
            "id": "x",
            "size": 12,
            "deleted": {"state": "deleted"},
            "lastModifiedDateTime": "2024-05-01T09:00:00Z",
        },
        where="t",
    )
    validator.check_entity("message", {"id": "m", "@removed": {"reason": "deleted"}}, where="t")
    assert validator.violations == []
