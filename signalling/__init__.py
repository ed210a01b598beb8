"""Transport and wiring: the aiohttp app, HTTP pages and APIs, settings, CLI."""
