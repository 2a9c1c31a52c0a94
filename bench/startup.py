"""What a start of `threaddesk run` costs in CPU: the console on SQLite with the sample KB, started and stopped
(stdin at its end) again and again, interleaved round by round so machine noise hits every kind alike —

  first start : a new desk (the database created and migrated, the sample KB seeded) with an empty cache
                folder, so the KB classifier is fitted (scikit-learn imported)
  restart     : the same desk started again, the classifier's fit read back from the cache (`kb.fit_cache`)
  restart, no cache : the same desk started again with an empty cache folder (a restart before the cache)

and, as the raw ceiling, a bare interpreter importing the third-party libraries every start needs (numpy,
rapidfuzz, pydantic, aiohttp, jinja2, typer, rich, PyYAML, prometheus-client) and nothing of ours. Each
figure is the CPU (user + system) of the whole process, the median over the rounds; the ratio is that median
over the ceiling's.

    .venv/bin/python bench/startup.py [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADDESK = Path(sys.executable).parent / "threaddesk"
CEILING = "import numpy, rapidfuzz, pydantic, aiohttp.web, jinja2, typer, rich.console, yaml, prometheus_client"


def _cpu_of(command: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one child process run to its end, stdin empty."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(f'[store]\npath = "{folder / "desk.db"}"\n[kb]\npath = "{ROOT / "kb" / "sample"}"\n')
    return path


def measure(rounds: int) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_DIRECTORY", "PYTHONDONTWRITEBYTECODE")}
    samples: dict[str, list[float]] = {"first start": [], "restart": [], "restart, no cache": [], "ceiling": []}
    with tempfile.TemporaryDirectory(prefix="threaddesk-startup-") as scratch:
        base = Path(scratch)

        def start(config: Path, cache: Path) -> float:
            run = [str(THREADDESK), "run", "--config", str(config)]
            return _cpu_of(run, {**env, "XDG_CACHE_HOME": str(cache)})

        for n in range(rounds + 1):  # round 0 warms the OS file cache and writes bytecode; not counted
            desk, cache = base / f"desk-{n}", base / f"cache-{n}"
            desk.mkdir()
            config = _config(desk)
            figures = {
                "first start": start(config, cache),  # in this order: the first start makes the desk
                "restart": start(config, cache),
                "restart, no cache": start(config, base / f"empty-{n}"),
                "ceiling": _cpu_of([sys.executable, "-c", CEILING], env),
            }
            if n:
                for kind, seconds in figures.items():
                    samples[kind].append(seconds)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    samples = measure(args.rounds)
    ceiling = statistics.median(samples["ceiling"])
    medians = {kind: statistics.median(values) for kind, values in samples.items()}
    load = os.getloadavg()[0]
    if args.json:
        figures = {
            kind: {"cpu_s": round(m, 3), "ratio_to_ceiling": round(m / ceiling, 2)} for kind, m in medians.items()
        }
        print(json.dumps({"rounds": args.rounds, "load_average": round(load, 1), "starts": figures}, indent=2))
        return
    print(f"{'kind':<20} {'CPU s (median)':>15} {'÷ ceiling':>10}   ({args.rounds} rounds, load {load:.1f})")
    for kind, median in medians.items():
        print(f"{kind:<20} {median:>15.2f} {median / ceiling:>10.2f}")


if __name__ == "__main__":
    main()
