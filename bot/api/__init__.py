"""The gateway's HTTP API (FastAPI)."""
