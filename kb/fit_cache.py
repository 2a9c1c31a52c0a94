"""Fitted text classifiers kept on disk between starts, keyed by everything the fit sees.

Why: fitting the knowledge base's word/n-gram classifier (`kb.classifier`) needs scikit-learn, and importing
it is a third of a bot's start-up CPU on the sample KB — paid again at every restart and by every process of a
desk, though the articles rarely change between two starts. A kept fit is read back with numpy alone.

The key is a digest of the analysed features of every text, their labels, the number of classes, the
regularisation, this file's `FORMAT` and the installed scikit-learn's version: a changed article, analyzer,
setting or scikit-learn fits afresh, so a kept fit is always the one a fit would give. Files are plain `.npz`
arrays read without pickle; one that cannot be read counts as absent, and one that cannot be written costs a
warning, never the start. Processes starting together with the same articles (a desk's fleet, a deploy) fit
once: the first takes the key's lock file and fits, the others wait for it and read its fit back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from kb.classifier import IndexArray, SoftmaxClassifier, TextClassifier, TfidfRow

log = logging.getLogger(__name__)

FORMAT = "text-classifier-1"  # bump when `kb.classifier.train` or the stored arrays change
KEEP = 16  # fits kept; older ones are removed (one per set of articles a desk has had)


@dataclass(frozen=True)
class FitCache:
    """A folder of fitted text classifiers, one `.npz` file per key."""

    folder: Path

    @classmethod
    def for_user(cls) -> FitCache:
        """The user's cache folder: `$CACHE_DIRECTORY` (systemd's `CacheDirectory=`), else
        `$XDG_CACHE_HOME/threaddesk`, else `~/.cache/threaddesk`."""
        if os.environ.get("CACHE_DIRECTORY"):
            return cls(Path(os.environ["CACHE_DIRECTORY"].split(":")[0]))
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(base) / "threaddesk")

    @staticmethod
    def key(features: Sequence[Sequence[str]], labels: Sequence[int] | IndexArray, classes: int, *, c: float) -> str:
        digest = hashlib.sha256()
        for part in (FORMAT, _scikit_learn_version(), str(classes), repr(float(c))):
            digest.update(part.encode() + b"\x00")
        for text_features, label in zip(features, np.asarray(labels).tolist(), strict=True):
            # each feature length-prefixed: customer wordings (learned aliases) may hold any character, so no
            # separator could tell ["a", "b"] from ["a<separator>b"]
            encoded = [feature.encode("utf-8", "surrogatepass") for feature in text_features]
            digest.update(f"{label}:{len(encoded)}:".encode())
            digest.update(b"".join(len(part).to_bytes(4, "big") + part for part in encoded))
        return digest.hexdigest()

    def load(self, key: str, analyzer: Callable[[str], list[str]]) -> TextClassifier | None:
        """The fit kept under `key`, its features computed by `analyzer`; None when there is none (or it
        cannot be read: a truncated or foreign file is fitted again and overwritten)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as arrays:
                blob, ends = arrays["terms"].tobytes(), arrays["term_ends"].tolist()
                idf, weights, bias = arrays["idf"], arrays["weights"], arrays["bias"]
            bounds = zip([0, *ends[:-1]], ends, strict=True)
            vocabulary = {blob[start:end].decode("utf-8", "surrogatepass"): n for n, (start, end) in enumerate(bounds)}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.info("knowledge base: fitting again, the kept fit %s is unreadable (%s)", path.name, exc)
            return None
        if weights.shape != (len(bias), len(vocabulary)) or idf.shape != (len(vocabulary),):
            log.info("knowledge base: fitting again, the kept fit %s does not fit together", path.name)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        row = TfidfRow(analyzer, vocabulary, idf, sublinear=True, binary=False, norm="l2", dtype=np.dtype(np.float32))
        return TextClassifier(row, SoftmaxClassifier(weights, bias))

    @contextlib.contextmanager
    def fitting(self, key: str) -> Iterator[None]:
        """Held while fitting the classifier of `key` and keeping it: one process at a time per key (an advisory
        lock on a file beside the fits, released by the system if the process dies). Without a usable folder
        or locks, nobody waits."""
        if sys.platform == "win32":
            yield
            return
        import fcntl

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / f".kb-{key[:32]}.lock", "a+b")  # noqa: SIM115 (closed below)
        except OSError:
            yield
            return
        with lock:
            with contextlib.suppress(OSError):
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def store(self, key: str, fitted: TextClassifier) -> None:
        """Keep `fitted` under `key` (written whole, then renamed: a reader never sees half a file), and
        remove all but the `KEEP` most recently used fits."""
        row = fitted.row
        if row.idf is None or (row.sublinear, row.binary, row.norm, row.dtype) != (True, False, "l2", np.float32):
            raise ValueError("only sublinear, l2-normalised TF-IDF rows in float32 are kept")
        terms = sorted(row.vocabulary, key=row.vocabulary.__getitem__)
        encoded = [term.encode("utf-8", "surrogatepass") for term in terms]
        written: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".fit-", suffix=".npz", delete=False) as file:
                written = Path(file.name)
                np.savez(
                    file,
                    terms=np.frombuffer(b"".join(encoded), dtype=np.uint8),
                    term_ends=np.cumsum([len(term) for term in encoded], dtype=np.int64),
                    idf=row.idf,
                    weights=fitted.model.weights,
                    bias=fitted.model.bias,
                )
            os.replace(written, self._path(key))
            written = None
            self._prune()
        except OSError as exc:
            log.warning("knowledge base: could not keep the classifier's fit in %s (%s)", self.folder, exc)
        finally:
            if written is not None:
                written.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / f"kb-{key[:32]}.npz"

    def _prune(self) -> None:
        kept = sorted(self.folder.glob("kb-*.npz"), key=_used_at, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
            old.with_name(f".{old.stem}.lock").unlink(missing_ok=True)


def _used_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _scikit_learn_version() -> str:
    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "?"
