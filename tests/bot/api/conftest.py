"""The engine's test club, for the gateway pieces that sit on the engine."""

from tests.ticketing.conftest import _keys_dir, club, lite

__all__ = ["_keys_dir", "club", "lite"]
