"""The ticketing engine: fixtures, seats, holds, orders, e-tickets, gate, refunds.

A plain, typed domain package on SQLAlchemy 2. It knows nothing of Rasa, HTTP or
Telegram: the gateway's routes, the Rasa custom actions and the CLI all call it.

Where things live (one module per noun):

- the club: `club` (its record: names, order prefix, own team, time zone), `demo`
  (loads the club's data folder, `data/demo/` by default)
- ground and matches: `venues` (stands, sections, rows, seats), `fixtures`
  (listings, availability, seat maps), `pricing`, `policies` (rules as data),
  `schedule`
- fans: `customers` (external ids such as `tg:12345`), `risk` (cap, rate limit,
  refusal counters), `recommendations` (best adjacent seats, near earlier ones)
- selling: `holds`, `paying` (pay exactly once), `orders` (what fans bought), `ids`,
  `payments` (provider interface, sandbox provider), `ledger` (append-only money
  records, invariant checks)
- the sale store: `store` (the hot path's statements, one implementation per database,
  chosen once per engine; everything above it is written once)
- e-tickets: `keys` (Ed25519 key ring), `signing` (compact signed codes),
  `tickets`, `qr`, `gate` (offline validation, online check-in)
- after-sales: `fees`, `refunds`, `exchanges`, `transfers`, `operations`
  (postpone, cancel, reconcile, sales report)
- orders bought elsewhere: `verification` (reference + e-mail, a mailed one-time
  code, then the order is linked to the fan), `outbox` (mail, local in development)

Functions that change state take a `sessionmaker` and run their own short
transactions (`core.db.write_session`); read-only ones take a `Session`. Errors are
the typed classes of `errors`, each with a stable `code`.
"""
