"""The change world: the frame on screen carried forward by the camera's move, with what changes sampled.

    reset(image)   the prompt's own pixels are the first frame
    step(action)   latent action -> the dynamics model picks the camera's move in each band of rows
                   (the most likely one: the camera is exact, never sampled) -> MaskGIT samples the
                   block tokens of the moved frame (which blocks are new and where each copies from)
                   -> the change tokenizer copies the pixels: every pixel is one of the frame before
    undo()         back one frame
    preview(acts)  the next frame for several actions at once, state untouched; step(a) then shows
                   exactly the previewed frame without running a network
The app, headless play, evaluation, benchmarks and the RL environment drive this object. Its
state is the frame on screen and the move that made it, so there is no cache to keep or rebuild.
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
from genie_play.world import change_tokenizer as ct
from genie_play.world.change_dynamics import ChangeDynamics
from genie_play.world.maskgit import maskgit_sample
from genie_play.world.world_model import Cancelled

MAX_UNDO = 256  # frames of history kept for undo
GREEDY = 1e3  # logit scale outside the new strip: sampling there picks the most likely source


@dataclass
class FrameRecord:
    """One frame of play: its pixels, the latent action that made it and the camera's move then."""

    frame: np.ndarray  # (H, W, 3) uint8
    action: int  # -1 for the prompt
    moves: torch.Tensor  # (bands,) move classes; the dynamics' `no_move` for the prompt
    generator_state: torch.Tensor | None = None  # the random stream after sampling it (previews only)


class ChangeWorld:
    """Owns the networks (change tokenizer, LAM, dynamics) and the play state (the frame records)."""

    max_context = 2  # the frame on screen and the move that made it
    prompt_carry = 0.0  # the token world's knobs, fixed here: a change world keeps every pixel anyway
    nearby = 0.0

    def __init__(self, tokenizer: ct.ChangeTokenizer, dynamics: ChangeDynamics, lam=None, *,
                 device: str | torch.device = "cpu", maskgit_steps: int | None = None,
                 temperature: float | None = None, carry_bias: float | None = None, min_p: float | None = None,
                 seed: int = 0, **ignored):
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.tokenizer = tokenizer.to(self.device).eval()
        self.dynamics = dynamics.to(self.device).eval()
        self.lam = lam.to(self.device).eval() if lam is not None else None
        self.config = dynamics.config
        self.vocab = ct.vocabulary(self.config)
        self.maskgit_steps = maskgit_steps or self.config.change.maskgit_steps
        self.temperature = self.config.change.temperature if temperature is None else temperature
        self.carry_bias = self.config.change.carry_bias if carry_bias is None else carry_bias
        self.min_p = self.config.change.min_p if min_p is None else min_p
        if self.maskgit_steps < 1 or self.temperature < 0:
            raise GenieError(f"maskgit_steps must be >= 1 and temperature >= 0, got {self.maskgit_steps}, {self.temperature}")
        self.seed = seed
        self.kv_cache = True  # nothing to cache: kept so benchmarks can flip it alike for every world
        self.timings: dict[str, float] | None = None  # set to {} to have step() record its phases in ms
        self.last_step_precomputed = False
        self.source: Path | None = None
        self._generator = torch.Generator(device=self.device)
        self._history: collections.deque[FrameRecord] = collections.deque(maxlen=MAX_UNDO)
        self._previews: dict[int, FrameRecord] = {}
        self._previews_made_with: tuple = ()

    @classmethod
    def load(cls, folder: Path, tokenizer_w, dynamics_w, lam_w, device="auto", **options) -> ChangeWorld:
        """Build from checked weights (WorldModel.load reads the files and sends a change world here)."""
        from genie_play.io import load_state
        from genie_play.world.lam import build_lam

        tokenizer = load_state(ct.ChangeTokenizer(tokenizer_w.config), tokenizer_w)
        if (ct.vocabulary(tokenizer_w.config) != ct.vocabulary(dynamics_w.config)
                or tokenizer_w.config.image_size != dynamics_w.config.image_size):
            raise file_error(tokenizer_w.path, "its blocks and moves are not the ones the dynamics model was trained on")
        dynamics = load_state(ChangeDynamics(dynamics_w.config), dynamics_w)
        lam = load_state(build_lam(lam_w.config), lam_w) if lam_w is not None else None
        world = cls(tokenizer, dynamics, lam, device=device, **options)
        world.source = Path(folder)
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
        return self._history[-1].frame

    @property
    def num_frames(self) -> int:
        return len(self._history)

    unsettled = False  # step() leaves no work behind

    def settle(self) -> None:
        """Nothing to do: kept so callers can treat every world alike."""

    @torch.inference_mode()
    def reset(self, image) -> np.ndarray:
        """Start from a picture (path, PIL image or RGB uint8 array); returns it at model resolution."""
        frame = self.prompt_frame(image)
        self._generator.manual_seed(self.seed)
        self._history.clear()
        no_move = torch.full((self.vocab.bands,), self.dynamics.no_move, dtype=torch.long, device=self.device)
        self._history.append(FrameRecord(frame, -1, no_move))
        self._previews = {}
        return frame

    @torch.inference_mode()
    def step(self, action: int, settle: bool = True) -> np.ndarray:
        """Advance one frame under latent action `action`; returns the new frame."""
        action = self._check_action(action)
        previewed = self._previews.get(action) if self._previews_made_with == self._sampling() else None
        self.last_step_precomputed = previewed is not None
        if previewed is not None:
            self._generator.set_state(previewed.generator_state)
            record = FrameRecord(previewed.frame, action, previewed.moves)
        else:
            frames, moves = self._sample([action], [self._generator])
            record = FrameRecord(frames[0], action, moves[0])
        self._history.append(record)
        self._previews = {}
        return record.frame

    @torch.inference_mode()
    def preview(self, actions: Sequence[int], cancelled=None) -> list[np.ndarray] | None:
        """The frame each action would produce now, in one batched pass; the state is untouched."""
        actions = [self._check_action(a) for a in actions]
        generators = []
        for _ in actions:  # each candidate continues the world's own random stream
            g = torch.Generator(device=self.device)
            g.set_state(self._generator.get_state())
            generators.append(g)
        try:
            frames, moves = self._sample(actions, generators, cancelled)
        except Cancelled:
            return None
        if self._previews_made_with != self._sampling():
            self._previews = {}
        self._previews.update({a: FrameRecord(frames[i], a, moves[i], generators[i].get_state())
                               for i, a in enumerate(actions)})
        self._previews_made_with = self._sampling()
        return frames

    @torch.inference_mode()
    def undo(self) -> np.ndarray:
        """Go back one frame (never past the prompt); returns the frame now on screen."""
        if len(self._history) > 1:
            self._history.pop()
            self._previews = {}
        return self.frame

    def state_tensors(self) -> list[torch.Tensor]:
        """What the next frame is computed from (for health checks)."""
        return [torch.from_numpy(self.frame).float(), self._history[-1].moves.float()] if self._history else []

    # --- sampling -----------------------------------------------------------------------------

    def _sample(self, actions: list[int], generators: list[torch.Generator], cancelled=None):
        """Next frames for each action from the frame on screen: (list of (H, W, 3) uint8, moves (B, bands))."""
        B, last = len(actions), self._history[-1]
        frames = torch.from_numpy(last.frame).to(self.device)[None].expand(B, -1, -1, -1)
        nxt, moves = self.sample_next(frames, last.moves[None].expand(B, -1), actions, generators, cancelled)
        return list(nxt.cpu().numpy()), moves

    def sample_next(self, frames: torch.Tensor, last_moves: torch.Tensor, actions: Sequence[int],
                    generators: list[torch.Generator], cancelled=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The one place frames are sampled: frames (B, H, W, 3) uint8 on screen, the moves that made
        them (B, bands) and a latent action each -> next frames (B, H, W, 3) uint8 and their moves."""
        B, G = len(actions), self.config.image_size // self.vocab.block
        action = torch.tensor(list(actions), device=self.device)
        with self._phase("move_ms"):
            moves = self.dynamics.move_logits(frames, action, last_moves).argmax(-1)  # (B, bands)
            px = self.tokenizer.moves[moves]
            moved = ct.decode(frames, px, torch.full((B, G, G), self.vocab.carry, device=self.device), self.vocab)
            hole, valid = ct.hole(px, self.config.image_size), ct.valid_ids(px, self.vocab, self.config.image_size)
            context = self.dynamics.token_context(frames, moved, hole, action, moves)
            # Only what scrolled in is sampled; the rest of the frame takes its most likely source,
            # so the picture never shuffles: sharpened logits make those blocks greedy (and the
            # most confident, so MaskGIT settles them first and paints the new strip beside them).
            new = torch.nn.functional.max_pool2d(hole[:, None].float(), self.vocab.block)[:, 0].bool()  # (B, G, G)
            scale = torch.where(new, 1.0, GREEDY)[..., None]
            bias = torch.zeros(self.vocab.size, device=self.device)
            bias[self.vocab.carry] = self.carry_bias

        def next_logits(ids: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B, N, V)
            if cancelled is not None and cancelled():
                raise Cancelled
            logits = (self.dynamics.token_logits(context, ids.view(B, G, G)) + bias).masked_fill(~valid, -1e9)
            if self.min_p > 0:  # log p - log p_max < log min_p: out
                unlikely = logits - logits.amax(dim=-1, keepdim=True) < torch.log(torch.tensor(self.min_p))
                logits = logits.masked_fill(unlikely, -1e9)
            return (logits * scale).flatten(1, 2)

        with self._phase("maskgit_ms"):
            ids = torch.full((B, G * G), self.dynamics.mask_id, device=self.device)
            ids = maskgit_sample(next_logits, ids, self.dynamics.mask_id, self.maskgit_steps, self.temperature, generators)
        with self._phase("decode_ms"):
            return ct.decode(frames, px, ids.view(B, G, G), self.vocab), moves

    def _sampling(self) -> tuple:
        return (self.maskgit_steps, self.temperature, self.carry_bias, self.min_p)

    def action_index(self, action) -> int:
        """`action` as an int, refused in one line unless it is one of this model's latent actions."""
        if not 0 <= int(action) < self.num_actions:
            raise GenieError(f"latent action {action} is out of range 0..{self.num_actions - 1}")
        return int(action)

    def _check_action(self, action: int) -> int:
        action = self.action_index(action)
        if not self._history:
            raise RuntimeError("call reset(image) first")
        return action

    def _phase(self, name: str):
        """Time a phase of step() into self.timings (waiting for the GPU, so only when asked)."""
        return timed(self.timings, name, self.device)

    def prompt_frame(self, image) -> np.ndarray:
        """A prompt (path, PIL image or RGB uint8 array) as an RGB uint8 frame at model resolution."""
        return prompt_frame(image, self.config.image_size)


class ChangeBatch:
    """B change worlds stepped together, one batched pass per step (the RL environment's engine).

    World b given the same prompt, seed and actions shows the frames a lone ChangeWorld shows."""

    def __init__(self, world: ChangeWorld, num_worlds: int):
        if num_worlds < 1:
            raise GenieError(f"a world batch needs at least one world, got {num_worlds}")
        self.world, self.num_worlds, self.device = world, num_worlds, world.device
        self.generators = [torch.Generator(device=self.device) for _ in range(num_worlds)]
        self.frames: np.ndarray | None = None  # (B, H, W, 3) uint8
        self._moves: torch.Tensor | None = None  # (B, bands)

    @torch.inference_mode()
    def reset(self, prompts: Sequence, seeds: Sequence[int], rows=None) -> np.ndarray:
        """Start the worlds `rows` (B bools; None: all) from prompts, one per restarted world."""
        from genie_play.world.world_batch import restart_rows

        restart, count = restart_rows(rows, self.num_worlds, prompts, seeds, self.frames is not None)
        if count == 0:
            return self.frames
        first = np.stack([self.world.prompt_frame(p) for p in prompts])
        if self.frames is None:
            self.frames = first
            self._moves = torch.full((self.num_worlds, self.world.vocab.bands), self.world.dynamics.no_move,
                                     dtype=torch.long, device=self.device)
        self.frames = self.frames.copy()
        self.frames[restart] = first
        self._moves[torch.from_numpy(restart).to(self.device)] = self.world.dynamics.no_move
        for i, b in enumerate(np.flatnonzero(restart)):
            self.generators[b].manual_seed(int(seeds[i]))
        return self.frames

    @torch.inference_mode()
    def step(self, actions) -> np.ndarray:
        """Advance every world one frame under its latent action; returns frames (B, H, W, 3) uint8."""
        if self.frames is None:
            raise RuntimeError("call reset(prompts, seeds) first")
        acts = [self.world.action_index(a) for a in np.asarray(actions).reshape(-1)]
        if len(acts) != self.num_worlds:
            raise GenieError(f"expected {self.num_worlds} actions, got {len(acts)}")
        frames = torch.from_numpy(self.frames).to(self.device)
        nxt, self._moves = self.world.sample_next(frames, self._moves, acts, self.generators)
        self.frames = nxt.cpu().numpy()
        return self.frames
