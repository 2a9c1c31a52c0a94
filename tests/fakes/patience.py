"""How long a test waits for something that must happen: a guard against hangs, never a margin.

Tests wait on events and readiness; this only bounds how long a broken build takes to fail. It is far above
anything a loaded 2-core CI machine needs, and below pytest-timeout (pyproject.toml) so the failure names what hung.
"""

HANG = 120.0
