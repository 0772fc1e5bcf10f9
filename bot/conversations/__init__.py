"""Conversations between fans and the desk: persistence and the message service."""
