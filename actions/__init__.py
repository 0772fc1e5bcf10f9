"""Rasa custom actions: thin adapters from the dialogue to the engine and knowledge.

The action server imports every module of this package (`python -m rasa_sdk --actions actions`).
"""
