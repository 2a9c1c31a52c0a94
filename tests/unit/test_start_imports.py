"""What a start of `threaddesk` imports: each platform's and engine's libraries only when the config asks for
them. A console or Slack desk on SQLite starts ~85 times in the suite and at every restart in production;
discord.py, asyncpg and scikit-learn are a fifth to a half of such a start's CPU."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

ONLY_WHEN_ASKED = ("discord", "asyncpg", "sklearn", "scipy", "slack_bolt", "torch")


def test_the_cli_loads_no_platform_engine_or_fitting_library_up_front() -> None:
    code = f"import sys, adapters.cli.run; print(sorted(m for m in {ONLY_WHEN_ASKED!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
