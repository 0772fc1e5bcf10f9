"""Human handoff: the router that decides when a person takes over, the queue, the
agents and their sessions, and the audit log. The console (bot/console/) and the agent
API (bot/api/routes/agent*.py) are thin adapters over `HandoffDesk` (bot/handoff/desk.py).
"""
