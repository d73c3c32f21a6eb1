"""Test doubles shipped with the package: stateful fakes of vendor APIs, used by the tests and the demo."""
