"""Training recipes: one network, or all three in order (tokenizer -> LAM -> dynamics).

`all` trains each stage in its own sub-folder of --out, hands the exported tokenizer and LAM to
the dynamics stage, and copies the three weights files to --out itself, ready for `play` or
`eval --weights`. With --resume, finished stages are kept and the interrupted one continues.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from genie_play.config import GenieConfig
from genie_play.io import atomic_path
from genie_play.train.objectives import NETWORKS
from genie_play.train.trainer import RunOptions, train


def open_dataset(data: Path, config: GenieConfig):
    """Training clips of `context_frames` frames from a data folder (any image size is checked later)."""
    from genie_play.data.dataset import ClipDataset

    return ClipDataset(data, clip_frames=config.context_frames, seed=config.train.seed)


def train_networks(config: GenieConfig, opts: RunOptions) -> list[Path]:
    """Run `opts.network` (one of NETWORKS, or "all"); returns the exported weights files."""
    dataset = open_dataset(opts.data, config)
    if opts.network != "all":
        exported = train(config, opts, dataset)
        return [exported] if exported else []
    out, exported = Path(opts.out), {}
    for network in NETWORKS:
        stage = dataclasses.replace(
            opts, network=network, out=out / network,
            resume=opts.resume and (out / network).exists(),
            tokenizer=exported.get("tokenizer"), lam=exported.get("lam"),
        )
        done = stage.out / f"{network}.safetensors"
        if opts.resume and done.exists():
            exported[network] = done
            continue
        path = train(config, stage, dataset)
        if path is None:  # stopped by a signal; its checkpoint is saved
            return list(exported.values())
        exported[network] = path
    shipped = []
    for network, path in exported.items():
        with atomic_path(out / path.name) as tmp:
            tmp.write_bytes(path.read_bytes())
        shipped.append(out / path.name)
    return shipped
