"""Matchday Desk gateway: HTTP API, channels, handoff, agent console and CLI."""
