"""Text -> vectors. See `base.py`."""
