"""The playbook's data model: pure entities, no I/O, no Headwater imports."""
