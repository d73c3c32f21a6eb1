"""The search index. See `base.py`."""
