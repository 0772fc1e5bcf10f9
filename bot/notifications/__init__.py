"""Proactive notices to fans on the channel they used: order confirmations with QR
tickets, the match-day pack, postponements and cancellations.

`sources` turns what happened into outbox rows (`models.Notice`, one per notice,
unique dedupe key), `outbox` claims and records them, `content` renders the texts of
data/notifications/notices.yml, `dispatcher` is the gateway's loop and `senders`
delivers per channel (the Telegram sender is bot/channels/telegram/notices.py).
"""
