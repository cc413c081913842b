"""The world model: the three networks plus the play state, and the one place that samples frames.

    reset(image)   prompt picture -> tokens; fills the KV caches; returns the first frame
    step(action)   latent action -> MaskGIT over one frame's tokens (the past lives in the KV
                   cache) -> decoded frame
    settle()       add the newest frame to the KV cache: the part of a step the player need not
                   wait for, which step(action, settle=False) leaves until the frame is shown
    undo()         back one frame
    preview(acts)  the next frame for several actions at once, without changing anything (a
                   `cancelled` callback stops it between MaskGIT rounds, for a keypress)
The app, headless play, evaluation and benchmark drive this object; WorldBatch (world_batch.py)
steps many worlds at once with its networks and its sampler, for the RL environment.

The context is a sliding window of `max_context` frames: the caches keep the last max_context-1
frames and temporal attention is banded to that width (see st_transformer.py). Undo rebuilds the
caches from the last max_context frames of the history.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from genie_play.device import select_device, timed
from genie_play.errors import GenieError, file_error
from genie_play.images import prompt_frame
from genie_play.io import load_network, read_weights
from genie_play.world.anchor import PROMPT_CARRY, carry_prompt
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LAMBase, build_lam
from genie_play.world.maskgit import maskgit_sample
from genie_play.world.pairing import check_compatible
from genie_play.world.st_transformer import KVCache
from genie_play.world.tokenizer import TokenizerBase, build_tokenizer

WEIGHT_FILES = {"tokenizer": "tokenizer.safetensors", "lam": "lam.safetensors", "dynamics": "dynamics.safetensors"}
MAX_UNDO = 256  # frames of history kept for undo; bounds memory in long sessions


@dataclass
class Preview:
    """Everything step(action) needs to show a precomputed frame without running a network."""

    ids: torch.Tensor  # (1, N) token ids of the frame
    frame: np.ndarray  # (H, W, 3) uint8
    generator_state: torch.Tensor  # the world's random stream after sampling this frame
    dynamics_kv: list | None  # this frame's keys/values for each cache (None without the KV cache)
    decoder_kv: list | None
    moved_by: torch.Tensor | None  # the camera's move since the prompt (world/anchor.py)
    painted: torch.Tensor  # (1, H, W, 3) in [0, 1]: the frame as its tokens paint it, before the prompt's pixels


class Cancelled(Exception):
    """A preview stopped early because its caller no longer wants it."""


class WorldModel:
    """Owns the networks and the rollout state (token history, KV caches, random stream)."""

    def __init__(
        self,
        tokenizer: TokenizerBase,
        dynamics: Dynamics,
        lam: LAMBase | None = None,
        *,
        device: str | torch.device = "cpu",
        max_context: int | None = None,
        maskgit_steps: int | None = None,
        temperature: float | None = None,
        unmask_order: str | None = None,
        prompt_carry: float | None = None,
        nearby: float | None = None,
        seed: int = 0,
        kv_cache: bool = True,
    ):
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.tokenizer = tokenizer.to(self.device).eval()
        self.dynamics = dynamics.to(self.device).eval()
        self.lam = lam.to(self.device).eval() if lam is not None else None
        config = dynamics.config
        self.config = config
        self.max_context = max_context or config.context_frames
        self._previews: dict[int, Preview] = {}  # action -> its precomputed next frame, from preview()
        self._previews_made_with: tuple = ()
        self.last_step_precomputed = False  # did the last step() show a frame made by preview()?
        self.timings: dict[str, float] | None = None  # set to {} to have step() record its phases in ms
        if self.max_context < 1:
            raise GenieError(f"max_context must be at least 1, got {self.max_context}")
        self.maskgit_steps = maskgit_steps or config.dynamics.maskgit_steps
        self.temperature = config.dynamics.temperature if temperature is None else temperature
        self.unmask_order = unmask_order or config.dynamics.unmask_order
        self.prompt_carry = PROMPT_CARRY if prompt_carry is None else prompt_carry  # world/anchor.py; 0: off
        self.nearby = config.dynamics.nearby if nearby is None else nearby  # dynamics.nearby_prior; 0: off
        if not 0 <= self.nearby <= 1:
            raise GenieError(f"nearby must be a share 0..1, got {self.nearby}")
        self.seed = seed
        self.kv_cache = kv_cache  # False recomputes the context every MaskGIT round (for benchmarks)
        # The world model owns its networks, so it sets their attention window to its context.
        self.dynamics.transformer.window = self.max_context
        self.tokenizer.set_window(self.max_context)
        self._generator = torch.Generator(device=self.device)
        # (ids (1, N), action, frame, the camera's move since the prompt or None once it left the view,
        #  the frame as painted from its tokens (1, H, W, 3) in [0, 1]): world/anchor.py uses the last two
        self._history: collections.deque = collections.deque(maxlen=MAX_UNDO)
        self._prompt: torch.Tensor | None = None  # (1, H, W, 3) uint8: the one frame with every pixel
        self._dynamics_cache = self._decoder_cache = None
        self._unsettled: tuple | None = None  # (ids (1, N), action) of a frame not yet in the KV cache
        self.source: Path | None = None  # the weights folder, when loaded from one (its keymap lives there)

    @classmethod
    def load(cls, weights_dir: str | os.PathLike, device: str | torch.device = "auto", **options):
        """Load tokenizer, dynamics (and the LAM if present) from a folder, checking they fit together;
        a change world's files (the shipped layout) give a ChangeWorld, which plays the same way."""
        folder = Path(weights_dir)
        if not folder.is_dir():
            raise file_error(folder, "weights folder not found")
        tokenizer_w = read_weights(folder / WEIGHT_FILES["tokenizer"], "tokenizer")
        dynamics_w = read_weights(folder / WEIGHT_FILES["dynamics"], "dynamics")
        lam_path = folder / WEIGHT_FILES["lam"]
        lam_w = read_weights(lam_path, "lam") if lam_path.exists() else None
        if dynamics_w.config.world != tokenizer_w.config.world:
            raise file_error(tokenizer_w.path, f"is a {tokenizer_w.config.world} world's tokenizer, the dynamics model "
                                               f"is a {dynamics_w.config.world} world's")
        if dynamics_w.config.world == "change":  # the shipped layout: frames carried forward
            from genie_play.world.change_world import ChangeWorld

            if lam_w is not None and (lam_w.config.num_actions, lam_w.config.image_size) != (
                    dynamics_w.config.num_actions, dynamics_w.config.image_size):
                raise file_error(lam_w.path, "its actions or image size differ from the dynamics model's")
            options = {k: v for k, v in options.items() if k in ("maskgit_steps", "temperature", "carry_bias", "min_p", "seed")}
            return ChangeWorld.load(folder, tokenizer_w, dynamics_w, lam_w, device=device, **options)
        tokenizer, tw = load_network(tokenizer_w.path, "tokenizer", build_tokenizer)
        check_compatible(tw, dynamics_w, lam_w)
        dynamics, _ = load_network(dynamics_w.path, "dynamics", Dynamics)
        lam = load_network(lam_path, "lam", build_lam)[0] if lam_w is not None else None
        world = cls(tokenizer, dynamics, lam, device=device, **options)
        world.source = folder
        return world

    # --- play ---------------------------------------------------------------------------------

    @property
    def num_actions(self) -> int:
        return self.config.num_actions

    @property
    def frame(self) -> np.ndarray:
        """The frame on screen: RGB uint8 (H, W, 3)."""
        if not self._history:
            raise RuntimeError("call reset(image) first")
        return self._history[-1][2]

    @property
    def num_frames(self) -> int:
        return len(self._history)

    @torch.inference_mode()
    def reset(self, image) -> np.ndarray:
        """Start from a picture (path, PIL image or RGB uint8 array); returns it at model resolution."""
        frame = self.prompt_frame(image)
        pixels = torch.from_numpy(frame).to(self.device)[None, None]  # (1, 1, H, W, 3)
        ids = self.tokenizer.encode(pixels)[:, 0]  # (1, N)
        self._generator.manual_seed(self.seed)
        self._history.clear()
        start = torch.zeros(2, dtype=torch.long, device=self.device)
        painted = self.tokenizer.decode(ids[:, None])[:, 0] if self.prompt_carry > 0 else None  # only it reads this
        self._history.append((ids, self.dynamics.no_action, frame, start, painted))
        self._prompt = pixels[:, 0]
        self._previews = {}
        self._rebuild_caches()
        return frame

    @torch.inference_mode()
    def step(self, action: int, settle: bool = True) -> np.ndarray:
        """Advance one frame under latent action `action` (0..num_actions-1); returns the new frame.

        settle=False returns as soon as the frame is decoded and leaves adding it to the context
        (a full pass of the dynamics model) to settle() or the next call, so the frame shows sooner."""
        action = self._check_action(action)
        self.settle()
        previewed = self._previews.get(action) if self._previews_made_with == self._sampling() else None
        self.last_step_precomputed = previewed is not None
        if previewed is not None:  # the frame the player already saw for this action, caches and all
            self._generator.set_state(previewed.generator_state)
            if self.kv_cache:
                self._dynamics_cache.extend(previewed.dynamics_kv)
                self._dynamics_cache.last_ids = previewed.ids
                self._decoder_cache.extend(previewed.decoder_kv)
            ids, frame, moved_by, painted = previewed.ids, previewed.frame, previewed.moved_by, previewed.painted
        else:
            with self._phase("maskgit_ms"):
                ids = self.sample_ids([action], [self._generator], self._dynamics_cache if self.kv_cache else None)
            with self._phase("decode_ms"):
                painted = self._decode_next(ids)
                pixels, moves = self._carry_prompt(painted)
                frame, moved_by = to_uint8(pixels[0]), moves[0]
            if self.kv_cache:
                self._unsettled = (ids, action)
        self._history.append((ids, action, frame, moved_by, painted[:1]))
        self._previews = {}
        if settle:
            self.settle()
        return frame

    @property
    def unsettled(self) -> bool:
        """Is there work left from step(settle=False)?"""
        return self._unsettled is not None

    @torch.inference_mode()
    def settle(self) -> None:
        """The newest frame and its latent action join the context (the KV cache), if not yet done."""
        if self._unsettled is None:
            return
        ids, action = self._unsettled
        self._unsettled = None
        with self._phase("context_ms"):
            self.dynamics.prime(self._dynamics_cache, ids[:, None], torch.tensor([[action]], device=self.device))

    @torch.inference_mode()
    def preview(self, actions: Sequence[int], cancelled=None) -> list[np.ndarray] | None:
        """The frame each action would produce now, in one batched pass; the state is untouched.

        Previews of the same state accumulate, so the actions may be previewed a few at a time.
        A following step(a) for a previewed action returns exactly the previewed frame, and with
        the KV cache it runs no network at all: the frame's keys and values are computed here too.
        `cancelled()` is asked between the passes; once it says True the preview stops and returns None.
        """
        actions = [self._check_action(a) for a in actions]
        self.settle()
        try:
            return self._preview(actions, cancelled or (lambda: False))
        except Cancelled:
            return None

    def _preview(self, actions: list[int], cancelled) -> list[np.ndarray]:
        generators = []
        for _ in actions:  # each candidate continues the world's own random stream
            g = torch.Generator(device=self.device)
            g.set_state(self._generator.get_state())
            generators.append(g)
        B, N = len(actions), self.config.tokens_per_frame
        context = self._dynamics_cache.repeat(B) if self.kv_cache else None
        ids = self.sample_ids(actions, generators, context, cancelled)  # (B, N)
        if cancelled():
            raise Cancelled
        dynamics_kv = decoder_kv = [None] * B
        if self.kv_cache:
            decoder = self._decoder_cache.repeat(B)
            self.dynamics.prime(context, ids[:, None], torch.tensor(actions, device=self.device)[:, None])
            painted = self.tokenizer.decode(ids[:, None], decoder, append=True, previous=self._shown())[:, -1]
            S = self.dynamics.frame_length  # P transformer places (N at group 1), plus the action token
            dynamics_kv = [context.newest(b * S, (b + 1) * S) for b in range(B)]
            decoder_kv = [decoder.newest(b * N, (b + 1) * N) for b in range(B)]
        else:
            painted = self._decode_next(ids)
        pixels, moves = self._carry_prompt(painted)
        frames = [to_uint8(f) for f in pixels]
        if self._previews_made_with != self._sampling():
            self._previews = {}  # made with other sampling settings: useless now
        self._previews.update({a: Preview(ids[i:i + 1], frames[i], generators[i].get_state(), dynamics_kv[i],
                                          decoder_kv[i], moves[i], painted[i:i + 1]) for i, a in enumerate(actions)})
        self._previews_made_with = self._sampling()
        return frames

    @torch.inference_mode()
    def undo(self) -> np.ndarray:
        """Go back one frame (never past the prompt); returns the frame now on screen."""
        if len(self._history) > 1:
            self._history.pop()
            self._rebuild_caches()
            self._previews = {}
        return self.frame

    def state_tensors(self) -> list[torch.Tensor]:
        """Every cached key and value the next frame is computed from (for health checks)."""
        self.settle()
        caches = (self._dynamics_cache, self._decoder_cache)
        return [t for cache in caches if cache is not None for kv in cache.layers for t in kv]

    # --- internals ----------------------------------------------------------------------------

    def action_index(self, action) -> int:
        """`action` as an int, refused in one line unless it is one of this model's latent actions."""
        if not 0 <= int(action) < self.num_actions:
            raise GenieError(f"latent action {action} is out of range 0..{self.num_actions - 1}")
        return int(action)

    def _check_action(self, action: int) -> int:
        action = self.action_index(action)
        if self._dynamics_cache is None:
            raise RuntimeError("call reset(image) first")
        return action

    def _phase(self, name: str):
        """Time a phase of step() into self.timings (waiting for the GPU, so only when asked)."""
        return timed(self.timings, name, self.device)

    def _sampling(self) -> tuple:
        return (self.maskgit_steps, self.temperature, self.unmask_order, self.prompt_carry, self.nearby)

    def sample_ids(self, actions: list[int], generators: list[torch.Generator], context: KVCache | None,
                   cancelled=None) -> torch.Tensor:
        """MaskGIT-sample the next frame's token ids (B, N), one row per action; no state changes.

        context: the dynamics KV cache holding B copies of the past; None recomputes the past every round.
        cancelled: asked before each round; True raises Cancelled.
        """
        B = len(actions)
        a = torch.tensor(actions, device=self.device)

        def next_logits(ids: torch.Tensor) -> torch.Tensor:
            if cancelled is not None and cancelled():
                raise Cancelled
            past = context if context is not None else self._context_cache().repeat(B)
            return self.dynamics.next_logits(past, ids, a, self.nearby)

        ids = torch.full((B, self.config.tokens_per_frame), self.dynamics.mask_id, device=self.device)
        return maskgit_sample(next_logits, ids, self.dynamics.mask_id, self.maskgit_steps, self.temperature, generators,
                             self.unmask_order)

    def _decode_next(self, ids: torch.Tensor) -> torch.Tensor:
        """Pixels (B, H, W, 3) in [0, 1] of next-frame ids (B, N); with the KV cache (B = 1), extends it."""
        if self.kv_cache:
            return self.tokenizer.decode(ids[:, None], self._decoder_cache, append=True, previous=self._shown())[:, -1]
        if self.tokenizer.config.tokenizer.architecture == "st_transformer":  # a temporal decoder re-reads the window
            window = self._recent(self.max_context - 1)[0].expand(ids.shape[0], -1, -1)
            return self.tokenizer.decode(torch.cat([window, ids[:, None]], dim=1))[:, -1]
        return self.tokenizer.decode(ids[:, None], previous=self._shown())[:, -1]

    def _carry_prompt(self, pixels: torch.Tensor) -> tuple[torch.Tensor, list]:
        """Painted next frames (B, H, W, 3) in [0, 1] with the prompt's pixels where they still fit."""
        return carry_prompt(pixels, self._history[-1][4], self._prompt, self._history[-1][3], self.prompt_carry)

    def _shown(self) -> torch.Tensor:
        """The frame on screen (1, H, W, 3) uint8: a context-aware decoder carries it over into the next."""
        return torch.from_numpy(self.frame).to(self.device)[None]

    def prompt_frame(self, image) -> np.ndarray:
        """A prompt (path, PIL image or RGB uint8 array) as an RGB uint8 frame at model resolution."""
        return prompt_frame(image, self.config.image_size)

    def _recent(self, frames: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Token ids (1, T, N) and leading actions (1, T) of the last T = min(frames, history) frames,
        and the ids (1, N) of the frame before them (None when they start at the prompt)."""
        first = max(0, len(self._history) - frames)
        recent = list(self._history)[first:]
        ids = torch.stack([r[0] for r in recent], dim=1) if recent else self._history[-1][0][:, None][:, :0]
        before = self._history[first - 1][0] if first > 0 else None
        return ids, torch.tensor([r[1] for r in recent], dtype=torch.long, device=self.device)[None], before

    def _context_cache(self) -> KVCache:
        """Without the KV cache: the dynamics context recomputed from the history."""
        cache = KVCache()
        if self.max_context > 1:
            self.dynamics.prime(cache, *self._recent(self.max_context - 1))
        else:  # no past frames in view, but the newest one's tokens still are
            cache.last_ids = self._history[-1][0]
        return cache

    def _rebuild_caches(self) -> None:
        """Recompute both KV caches from the last max_context frames of the history."""
        self._unsettled = None
        ids, prev, before = self._recent(self.max_context)
        self._dynamics_cache = KVCache(max_frames=self.max_context - 1)
        self.dynamics.prime(self._dynamics_cache, ids, prev, before)
        self._decoder_cache = KVCache(max_frames=self.max_context - 1)
        self.tokenizer.decode(ids, self._decoder_cache, append=True)


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """(..., H, W, 3) float in [0, 1] -> RGB uint8 numpy on the CPU."""
    return (frame * 255).round().to(torch.uint8).cpu().numpy()
