"""The ticketing engine: fixtures, seats, holds, orders, e-tickets, gate, refunds.

A plain, typed domain package on SQLAlchemy 2. It knows nothing of Rasa, HTTP or
Telegram: the gateway's routes, the Rasa custom actions and the CLI all call it.
"""
