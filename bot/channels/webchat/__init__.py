"""The web widget: one `<script>` tag puts the desk's chat on a club's site.

- `POST /api/v1/widget/sessions` (sessions.py, origins.py, limits.py, tokens.py): a page
  from an allowed origin gets an unguessable conversation id and a signed token scoped
  to it; the widget never holds the server-to-server key.
- `/api/v1/widget/ws` (socket.py, frames.py): fan messages with a client message id,
  acknowledgements, bot and agent replies, typing, status and queue position, live.
- `GET /api/v1/widget/history` (history.py): the transcript, so a reload restores it.
- `/widget.js` and the demo club page at `/` (static/).

Every fan message goes through the conversation service like every other channel
(channel `web`, customer `web:<conversation id>`); see docs/widget.md.
"""
