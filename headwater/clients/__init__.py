"""HTTP clients of the vendors and protocols Headwater talks to: they know HTTP and the vendor, not
Headwater's models."""
