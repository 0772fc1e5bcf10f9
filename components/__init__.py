"""Custom Rasa components. They run inside the Rasa environment (.venv-rasa, Python 3.10)."""
