"""Which weights files play together: a dynamics model and the tokenizer whose tokens it learned,
and a LAM with its action count. Refused in one line naming the file, before anything loads."""

from __future__ import annotations

import hashlib
from pathlib import Path

from genie_play.config import TokenizerConfig
from genie_play.errors import file_error
from genie_play.io import Weights, tokens_sha256


def check_compatible(tokenizer: Weights, dynamics: Weights, lam: Weights | None = None) -> None:
    """Refuse a dynamics model trained on another tokenizer, or a LAM with another action count."""
    t, d = tokenizer.config, dynamics.config
    # The carry-over is painting, not tokens: a dynamics model plays with or without it.
    diffs = [f"{k} {getattr(d.tokenizer, k)} vs {getattr(t.tokenizer, k)}" for k in vars(t.tokenizer)
             if getattr(d.tokenizer, k) != getattr(t.tokenizer, k) and k not in TokenizerConfig.PAINTING]
    if d.image_size != t.image_size or diffs:
        if d.image_size != t.image_size:
            diffs.insert(0, f"image_size {d.image_size} vs {t.image_size}")
        raise file_error(dynamics.path, f"was trained with a different tokenizer than {tokenizer.path} "
                         f"({', '.join(diffs)}); use the tokenizer it was trained with")
    # Files since the carry-over name the tokens (a retrained painter keeps them); older ones the file,
    # or the file a tokenizer was repainted from when its tokens are still that file's.
    if "tokenizer_tokens_sha256" in dynamics.summary:
        same = dynamics.summary["tokenizer_tokens_sha256"] == tokens_sha256(tokenizer.tensors)
    else:
        trained_with = dynamics.summary.get("tokenizer_sha256")
        init = tokenizer.summary.get("init") or {}
        same = (not trained_with or trained_with == hashlib.sha256(Path(tokenizer.path).read_bytes()).hexdigest()
                or (init.get("sha256") == trained_with and init.get("tokens_sha256") == tokens_sha256(tokenizer.tensors)))
    if not same:
        raise file_error(dynamics.path, f"was trained with another tokenizer than {tokenizer.path} (same sizes, "
                         "different weights, so its tokens mean other things); use the tokenizer from its training run")
    if lam is not None and (lam.config.num_actions != d.num_actions or lam.config.image_size != d.image_size):
        raise file_error(lam.path, f"has {lam.config.num_actions} latent actions at {lam.config.image_size}px, "
                         f"but {dynamics.path} expects {d.num_actions} at {d.image_size}px")
