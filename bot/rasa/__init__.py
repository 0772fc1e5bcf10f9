"""Talking to the Rasa processes: their environment, training and HTTP API."""
