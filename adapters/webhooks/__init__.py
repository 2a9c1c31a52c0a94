"""Outbound webhooks: the HTTP side of `[[webhooks]]` (signing keys from the environment, aiohttp)."""
