"""The agent console: static pages (HTML, CSS, vanilla JS; no build step) served by the
gateway at `/console`, working against the agent API and its WebSocket."""
