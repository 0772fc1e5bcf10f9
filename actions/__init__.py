"""Rasa custom actions: thin adapters from the dialogue to the engine and knowledge.

The action server imports every module of this package (`python -m rasa_sdk --actions actions`).
"""

from core.texts import catalogue

# The buttons and mails of the actions come from the text catalogue: a broken catalogue
# stops the action server when it starts, naming the file and the key.
catalogue()
