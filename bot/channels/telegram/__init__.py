"""The Telegram channel (aiogram 3), run inside the gateway process.

`channel.TelegramChannel` owns the bot and its dispatcher (one router per feature in
`handlers/`), `delivery` sends to chats in order (flood waits, blocked fans),
`webhook` is the gateway route for webhook mode, `config` checks the settings, and
`notices` is the outbox's Telegram sender. See docs/telegram.md.
"""
