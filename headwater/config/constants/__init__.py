"""Playbook path ``app.config.constants``: the model's constants under their playbook module names."""
