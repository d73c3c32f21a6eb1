"""The graph store seam: `base.py` is the interface, backends are chosen by URL in `registry.py`."""
