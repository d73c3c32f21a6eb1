"""A seeded tenant and a validating fake Graph: every test fails if any response broke the schemas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from headwater.testing.fake_graph import FakeGraph, FakeTenant, checked_graph
from headwater.testing.fake_graph.model import Drive, DriveItem, Group, User


@dataclass
class Seed:
    tenant: FakeTenant
    alice: User
    bob: User
    carol: User
    engineering: Group
    everyone: Group
    drive: Drive
    specs: DriveItem
    plan: DriveItem
    notes: DriveItem


@pytest.fixture
def seed() -> Seed:
    tenant = FakeTenant()
    alice = tenant.add_user("Alice Smith")
    bob = tenant.add_user("Bob Jones")
    carol = tenant.add_user("Carol White")
    engineering = tenant.add_group("Engineering", members=[alice.id, bob.id])
    everyone = tenant.add_group("Everyone", unified=True, members=[engineering.id, carol.id])
    drive = tenant.drive_of(alice.id)
    specs = tenant.add_folder(drive.id, "Specs")
    plan = tenant.add_file(drive.id, "plan.txt", "the plan", parent_id=specs.id)
    notes = tenant.add_file(drive.id, "notes.md", "# notes")
    return Seed(tenant, alice, bob, carol, engineering, everyone, drive, specs, plan, notes)


@pytest.fixture
def graph(seed: Seed) -> Iterator[FakeGraph]:
    with checked_graph(seed.tenant, page_size_cap=3) as fake:
        yield fake
    assert fake.validator is not None
    assert fake.validator.checked > 0
