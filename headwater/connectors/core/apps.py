"""App and AppGroup: which connector a class is and which vendor group it belongs to (reference §1.1).

Each connector module defines an ``XxxApp(App)`` binding its names. Both spellings work::

    App(Connectors.ONEDRIVE, AppGroups.MICROSOFT)                       # reference: positional
    App(app_name=Connectors.ONEDRIVE, app_group=AppGroup.MICROSOFT_365)  # playbook step 6.1

``AppGroup`` carries every ``AppGroups`` member as a class attribute (``AppGroup.MICROSOFT``, ...),
plus the playbook's spellings (``AppGroup.MICROSOFT_365``, ``AppGroup.GOOGLE``), so
``app_group=AppGroup.X`` works as the playbook writes it.

A third-party connector is not in the ``Connectors`` enum (Headwater's enum cannot be edited by a
plug-in): it names itself with a plain string, ``App(app_name="Acme Wiki", app_group="Acme")``. A
string equal to an enum value becomes that member; any other string becomes an ``ExtensionName``,
a ``str`` that also has the enum's ``.value`` and ``.name``, so code written against enum members
(the playbook's ``self.app.get_app_name().value.lower()``) works with either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from headwater.models.constants import AppGroups, Connectors


class ExtensionName(str):
    """A connector or app-group name outside Headwater's enums; quacks like an enum member."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return str.__str__(self).upper().replace(" ", "_")

    def __repr__(self) -> str:
        return f"ExtensionName({str.__str__(self)!r})"


def as_connector_name(value: Connectors | str) -> Connectors | ExtensionName:
    """The ``Connectors`` member whose value is `value`, else `value` as an ``ExtensionName``."""
    if isinstance(value, Connectors):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a connector name must be a non-empty string, not {value!r}")
    try:
        return Connectors(value)
    except ValueError:
        return ExtensionName(value)


def as_app_group_name(value: AppGroups | str) -> AppGroups | ExtensionName:
    """The ``AppGroups`` member whose value is `value`, else `value` as an ``ExtensionName``."""
    if isinstance(value, AppGroups):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"an app group name must be a non-empty string, not {value!r}")
    try:
        return AppGroups(value)
    except ValueError:
        return ExtensionName(value)


class App:
    """A connector's identity: its name, its vendor group and (per instance) its connector id."""

    def __init__(
        self,
        app_name: Connectors | str,
        app_group: AppGroups | AppGroup | str | None = None,
        app_group_name: AppGroups | str | None = None,
        connector_id: str | None = None,
    ) -> None:
        if app_group is not None and app_group_name is not None:
            raise TypeError("give the app group once: app_group= (playbook) or app_group_name= (reference)")
        group = app_group if app_group is not None else app_group_name
        if group is None:
            raise TypeError(f"App({app_name!r}) needs an app group: app_group=AppGroup.<VENDOR> or a string")
        if isinstance(group, AppGroup):
            group = group.get_app_group_name()
        self.app_name = as_connector_name(app_name)
        self.app_group_name = as_app_group_name(group)
        self.connector_id = connector_id

    def get_app_name(self) -> Connectors | ExtensionName:
        return self.app_name

    def get_app_group_name(self) -> AppGroups | ExtensionName:
        return self.app_group_name

    def get_connector_id(self) -> str | None:
        return self.connector_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(app_name={self.app_name.value!r}, "
            f"app_group_name={self.app_group_name.value!r}, connector_id={self.connector_id!r})"
        )


class AppGroup:
    """A vendor group of apps (Microsoft: OneDrive, SharePoint, Outlook); the class also names the groups."""

    # every AppGroups member (tests check this list stays complete) ...
    GOOGLE_WORKSPACE: ClassVar[AppGroups] = AppGroups.GOOGLE_WORKSPACE
    MICROSOFT: ClassVar[AppGroups] = AppGroups.MICROSOFT
    ATLASSIAN: ClassVar[AppGroups] = AppGroups.ATLASSIAN
    SLACK: ClassVar[AppGroups] = AppGroups.SLACK
    NOTION: ClassVar[AppGroups] = AppGroups.NOTION
    GITHUB: ClassVar[AppGroups] = AppGroups.GITHUB
    LINEAR: ClassVar[AppGroups] = AppGroups.LINEAR
    S3: ClassVar[AppGroups] = AppGroups.S3
    WEB: ClassVar[AppGroups] = AppGroups.WEB
    LOCAL_STORAGE: ClassVar[AppGroups] = AppGroups.LOCAL_STORAGE
    # ... and the playbook's spellings of the same groups
    MICROSOFT_365: ClassVar[AppGroups] = AppGroups.MICROSOFT
    GOOGLE: ClassVar[AppGroups] = AppGroups.GOOGLE_WORKSPACE

    def __init__(
        self,
        app_group_name: AppGroups | str,
        apps: Iterable[App] = (),
        connector_id: str | None = None,
    ) -> None:
        self.app_group_name = as_app_group_name(app_group_name)
        self.apps = list(apps)
        self.connector_id = connector_id

    def get_app_group_name(self) -> AppGroups | ExtensionName:
        return self.app_group_name

    def get_apps(self) -> list[App]:
        return list(self.apps)

    def get_connector_id(self) -> str | None:
        return self.connector_id

    def __repr__(self) -> str:
        return f"AppGroup({self.app_group_name.value!r}, apps={self.apps!r})"
