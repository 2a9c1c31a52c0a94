"""The web dashboard: aiohttp + Jinja2 pages for agents and leads, signed in through chat (`/dashboard`)."""
