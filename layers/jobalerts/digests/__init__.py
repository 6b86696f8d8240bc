"""Digests: who is due (fan-out), what goes in one (composition), and how it looks (rendering)."""
