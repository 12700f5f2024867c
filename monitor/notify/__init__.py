"""Notifications: pure rendering of emails (``render``); transports live beside it."""
