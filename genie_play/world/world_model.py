"""The world model: the frame on screen carried forward by the camera's move, with what changes sampled.

    reset(image)   the prompt's own pixels are the first frame; where the weights have a character
                   (character.py), the piece the camera follows is lifted out of it into a sprite
    step(action)   latent action -> the dynamics model picks the camera's move (the most likely
                   one: the camera is exact, never sampled) -> the sampler picks the block tokens
                   of the moved frame (which blocks are new and where each copies from) -> the
                   tokenizer copies the pixels: every pixel is one of the frame before; the
                   sprite takes the mover's move and is pasted over that background
    undo()         back one frame
    memory         every background pixel shown, at its place in the world (memory.py): where the view
                   moves back over a place it has shown, that place comes back as it was
    overlay        rows at the top and bottom of the screen that are not the world (a score bar,
                   a fuel gauge: dynamics.overlay_rows): they stay on screen as they are, and the
                   memory never holds them
    preview(acts)  the next frame for several actions at once, state untouched; step(a) then shows
                   exactly the previewed frame without running a network
The app, headless play, evaluation, benchmarks and the RL environment drive this object (and
WorldBatch, world_batch.py, for many worlds at once). Its state is the frame on screen, its
background and sprite, the move that made it, the camera's place in the world and the memory, so
there is no cache to rebuild.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.device import select_device, timed
from genie_play.errors import GenieError, file_error
from genie_play.images import prompt_frame
from genie_play.io import load_state, read_weights
from genie_play.world import tokenizer as tk
from genie_play.world.character import CharacterNetworks, Sprite, compose, cut_out, find_sprite, move_sprites
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LatentActionModel
from genie_play.world.memory import Memory, Region
from genie_play.world.sampler import Sampler
from genie_play.world.strip import fill_new

WEIGHT_FILES = {"tokenizer": "tokenizer.safetensors", "lam": "lam.safetensors", "dynamics": "dynamics.safetensors"}
CHARACTER_FILE = "character.safetensors"  # optional: a world without it carries its character with the background
MAX_UNDO = 256  # frames of history kept for undo


@dataclass
class FrameRecord:
    """One frame of play: its pixels, its background and sprite, the latent action that made it,
    the camera's move then and its place in the world."""

    frame: np.ndarray  # (H, W, 3) uint8: what the player sees
    background: np.ndarray  # (H, W, 3) uint8: what the dynamics model carries (the frame, without a sprite)
    sprite: Sprite | None  # the character, moved by the mover (None: the world has none)
    action: int  # -1 for the prompt
    moves: torch.Tensor  # (bands,) move classes; the dynamics' `no_move` for the prompt
    camera: tuple[int, int] = (0, 0)  # world position (y, x) of the frame's top-left pixel
    overwritten: Region | None = None  # what the memory held where this frame was written (for undo)
    generator_state: torch.Tensor | None = None  # the random stream after sampling it (previews only)


class Cancelled(Exception):
    """A preview stopped early because its caller no longer wants it."""


class WorldModel:
    """Owns the networks (tokenizer, LAM, dynamics, character), the sampler and the play state (frame records)."""

    def __init__(self, tokenizer: tk.Tokenizer, dynamics: Dynamics, lam: LatentActionModel | None = None, *,
                 device: str | torch.device = "cpu", sampler: Sampler | None = None, seed: int = 0,
                 character: CharacterNetworks | None = None):
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.tokenizer = tokenizer.to(self.device).eval()
        self.dynamics = dynamics.to(self.device).eval()
        self.lam = lam.to(self.device).eval() if lam is not None else None
        self.character = character.eval() if character is not None else None  # small: runs on the CPU
        self.config = dynamics.config
        self.vocab = tk.vocabulary(self.config)
        self.overlay = dynamics.overlay_rows
        self.sampler = sampler or Sampler.from_config(self.config.sampler)
        self.seed = seed
        self.timings: dict[str, float] | None = None  # set to {} to have step() record its phases in ms
        self.last_step_precomputed = False  # did the last step() show a frame made by preview()?
        self.source: Path | None = None  # the weights folder, when loaded from one (its keymap lives there)
        self._generator = torch.Generator(device=self.device)
        self._history: collections.deque[FrameRecord] = collections.deque(maxlen=MAX_UNDO)
        self.memory = Memory()
        self._previews: dict[int, FrameRecord] = {}
        self._previews_made_with: tuple = ()

    @classmethod
    def load(cls, weights_dir: str | os.PathLike, device: str | torch.device = "auto", *, seed: int = 0,
             **sampling) -> WorldModel:
        """Load the three networks from a folder, checking they fit together; `sampling` overrides
        the files' sampler knobs (maskgit_steps, temperature, min_p, carry_bias; None keeps one)."""
        folder = Path(weights_dir)
        if not folder.is_dir():
            raise file_error(folder, "weights folder not found")
        tokenizer_w = read_weights(folder / WEIGHT_FILES["tokenizer"], "tokenizer")
        dynamics_w = read_weights(folder / WEIGHT_FILES["dynamics"], "dynamics")
        lam_path = folder / WEIGHT_FILES["lam"]
        lam_w = read_weights(lam_path, "lam") if lam_path.exists() else None
        config = dynamics_w.config
        if tk.vocabulary(tokenizer_w.config) != tk.vocabulary(config) or tokenizer_w.config.image_size != config.image_size:
            raise file_error(tokenizer_w.path, "its blocks and moves are not the ones the dynamics model was trained on")
        if lam_w is not None and (lam_w.config.num_actions, lam_w.config.image_size) != (config.num_actions, config.image_size):
            raise file_error(lam_w.path, "its actions or image size differ from the dynamics model's")
        tokenizer = load_state(tk.Tokenizer(tokenizer_w.config), tokenizer_w)
        dynamics = load_state(Dynamics(config), dynamics_w)
        lam = load_state(LatentActionModel(lam_w.config), lam_w) if lam_w is not None else None
        character = None
        if (folder / CHARACTER_FILE).exists():
            character_w = read_weights(folder / CHARACTER_FILE, "character")
            if (character_w.config.num_actions, character_w.config.image_size) != (config.num_actions, config.image_size):
                raise file_error(character_w.path, "its actions or image size differ from the dynamics model's")
            character = load_state(CharacterNetworks(character_w.config), character_w)
        world = cls(tokenizer, dynamics, lam, device=device, seed=seed, character=character,
                    sampler=Sampler.from_config(config.sampler, **sampling))
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
        return self._history[-1].frame

    @property
    def camera(self) -> tuple[int, int]:
        """The frame on screen's place in the world (y, x): the camera's moves added up since the prompt."""
        return self._history[-1].camera

    @property
    def sprite(self) -> Sprite | None:
        """The character on screen (None where the world or the prompt has none)."""
        return self._history[-1].sprite

    @property
    def num_frames(self) -> int:
        return len(self._history)

    @torch.inference_mode()
    def reset(self, image, character_at: tuple[int, int] | None = None) -> np.ndarray:
        """Start from a picture (path, PIL image or RGB uint8 array); returns it at model resolution.
        `character_at` (y, x in model pixels) is a player's choice of character: the piece there,
        or none where there is none."""
        first = self.first_record(self.prompt_frame(image), character_at)
        self._generator.manual_seed(self.seed)
        self._history.clear()
        self.memory = Memory()
        self.remember(self.memory, (0, 0), first.background)
        self._history.append(first)
        self._previews = {}
        return first.frame

    def first_record(self, frame: np.ndarray, character_at: tuple[int, int] | None = None) -> FrameRecord:
        """The prompt's frame record: its character (if found, or chosen at `character_at`) lifted
        out of the background."""
        sprite = None
        if self.character is not None:
            sprite = find_sprite(self.character, frame, self.code_split(frame), self.vocab.block, character_at)
        background = cut_out(frame, sprite) if sprite is not None else frame
        no_move = torch.full((self.vocab.bands,), self.dynamics.no_move, dtype=torch.long, device=self.device)
        return FrameRecord(frame, background, sprite, -1, no_move)

    @torch.inference_mode()
    def step(self, action: int) -> np.ndarray:
        """Advance one frame under latent action `action`; returns the new frame."""
        action = self._check_action(action)
        previewed = self._previews.get(action) if self._previews_made_with == self.sampler.knobs() else None
        self.last_step_precomputed = previewed is not None
        if previewed is not None:
            self._generator.set_state(previewed.generator_state)
            record = previewed
        else:
            record = self.advance([self._history[-1]], [action], [self._generator], None, [self.memory])[0]
        record.overwritten = self.remember(self.memory, record.camera, record.background)
        record.generator_state = None
        self._history.append(record)
        self._previews = {}
        return record.frame

    @torch.inference_mode()
    def preview(self, actions: Sequence[int], cancelled=None) -> list[np.ndarray] | None:
        """The frame each action would produce now, in one batched pass; the state is untouched.
        A `cancelled` callback, asked between MaskGIT rounds, stops it early (returns None)."""
        actions = [self._check_action(a) for a in actions]
        generators = []
        for _ in actions:  # each candidate continues the world's own random stream
            g = torch.Generator(device=self.device)
            g.set_state(self._generator.get_state())
            generators.append(g)
        try:
            records = self.advance([self._history[-1]] * len(actions), actions, generators, cancelled,
                                   [self.memory] * len(actions))
        except Cancelled:
            return None
        if self._previews_made_with != self.sampler.knobs():
            self._previews = {}
        for record, g in zip(records, generators):
            record.generator_state = g.get_state()
            self._previews[record.action] = record
        self._previews_made_with = self.sampler.knobs()
        return [r.frame for r in records]

    @torch.inference_mode()
    def undo(self) -> np.ndarray:
        """Go back one frame (never past the prompt); returns the frame now on screen."""
        if len(self._history) > 1:
            self.memory.restore(self._history.pop().overwritten)
            self._previews = {}
        return self.frame

    # --- sampling -----------------------------------------------------------------------------

    def advance(self, last: Sequence[FrameRecord], actions: Sequence[int], generators: list[torch.Generator],
                cancelled=None, memories: Sequence[Memory] | None = None) -> list[FrameRecord]:
        """One step of B worlds: the records of the frames on screen and a latent action each -> the
        next frames' records (their memory not yet written: `overwritten` is None)."""
        backgrounds = torch.from_numpy(np.stack([r.background for r in last])).to(self.device)
        cameras = [r.camera for r in last]
        nxt, moves = self.sample_next(backgrounds, torch.stack([r.moves for r in last]), actions, generators,
                                      cancelled, memories, cameras)
        nxt = nxt.cpu().numpy()
        sprites = [r.sprite for r in last]
        if self.character is not None:
            with self._phase("character_ms"):
                sprites = move_sprites(self.character, np.stack([r.frame for r in last]), sprites, list(actions), nxt)
        return [FrameRecord(compose(nxt[b], sprites[b]), nxt[b], sprites[b], actions[b], moves[b],
                            self.camera_after(cameras[b], moves[b])) for b in range(len(last))]

    @torch.inference_mode()
    def code_split(self, frame: np.ndarray) -> np.ndarray:
        """How much the codes disagree on each block of `frame` (H, W, 3): (G, G), the total variation
        of the token head's first-round votes across the latent actions; 0 on the strip a move uncovers."""
        A, G = self.num_actions, self.config.image_size // self.vocab.block
        frames = torch.from_numpy(frame).to(self.device)[None].expand(A, -1, -1, -1)
        action = torch.arange(A, device=self.device)
        no_move = torch.full((A, self.vocab.bands), self.dynamics.no_move, dtype=torch.long, device=self.device)
        moves, _, moved, hole, valid = self._camera_move(frames, action, no_move)
        context = self.dynamics.token_context(frames, moved, hole, action, moves)
        votes = self.dynamics.token_logits(context, torch.full((A, G, G), self.dynamics.mask_id, device=self.device))
        votes = votes.masked_fill(~valid, -torch.inf).softmax(-1)  # (A, G, G, V)
        split = 0.5 * (votes - votes.mean(0, keepdim=True)).abs().sum(-1).mean(0)  # (G, G)
        new = F.max_pool2d(hole[:, None].float(), self.vocab.block)[:, 0].bool().any(0)
        return split.masked_fill(new, 0).cpu().numpy()

    def remember(self, memory: Memory, camera: tuple[int, int], frame: np.ndarray) -> Region:
        """Write the world's part of `frame` (H, W, 3), shown at `camera`, into `memory`; returns what it held."""
        top, bottom = self.overlay
        return memory.write(camera[0] + top, camera[1], frame[top:len(frame) - bottom])

    def camera_after(self, camera: tuple[int, int], moves: torch.Tensor) -> tuple[int, int]:
        """The camera's world position after `moves` (bands,): it moves against the content."""
        dy, dx = self.tokenizer.moves[moves[0]].tolist()
        return camera[0] - dy, camera[1] - dx

    def _fill_strips(self, moved: torch.Tensor, hole: torch.Tensor, memories: Sequence[Memory],
                     cameras: Sequence[tuple[int, int]], moves: torch.Tensor, generators: list[torch.Generator]):
        """The moved frames (B, H, W, 3) with the strip each move uncovers (hole, (B, H, W)) filled:
        from memory where the world was shown before, else with a piece of the world nearby whose
        edge fits (strip.py). Returns the frames and the filled pixels (B, H, W)."""
        size, (top, bottom) = self.config.image_size, self.overlay
        rows = slice(top, size - bottom)  # the world's rows: the overlay's are never a hole
        out, filled = moved.cpu().numpy().copy(), hole.cpu().numpy().copy()
        for b, (memory, camera) in enumerate(zip(memories, cameras)):
            if not filled[b].any():
                continue
            y, x = self.camera_after(camera, moves[b])
            view, strip = out[b][rows], filled[b][rows]  # views: painting them paints the frame
            pixels, known = memory.read(y + top, x, len(view), size)
            recalled = strip & known
            view[recalled] = pixels[recalled]
            strip[:] = recalled | fill_new(view, strip & ~known, memory, (y + top, x), generators[b])
        return torch.from_numpy(out).to(self.device), torch.from_numpy(filled).to(self.device)

    def sample_next(self, frames: torch.Tensor, last_moves: torch.Tensor, actions: Sequence[int],
                    generators: list[torch.Generator], cancelled=None, memories: Sequence[Memory] | None = None,
                    cameras: Sequence[tuple[int, int]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The one place frames are sampled: frames (B, H, W, 3) uint8 on screen, the moves that made
        them (B, bands) and a latent action each -> next frames (B, H, W, 3) uint8 and their moves.
        With each world's memory and camera position, places shown before come back as they were."""
        action = torch.tensor(list(actions), device=self.device)
        with self._phase("move_ms"):
            moves, px, moved, hole, valid = self._camera_move(frames, action, last_moves)
            filled = None
            if memories is not None and self.vocab.bands == 1:  # one camera: the world has one place per pixel
                moved, filled = self._fill_strips(moved, hole, memories, cameras, moves, generators)
                hole = hole & ~filled
            context = self.dynamics.token_context(frames, moved, hole, action, moves)
            new = F.max_pool2d(hole[:, None].float(), self.vocab.block)[:, 0].bool()  # (B, G, G): the new strip
            valid[..., self.vocab.carry] |= ~new  # a filled strip's block is carried

        def token_logits(ids: torch.Tensor) -> torch.Tensor:
            if cancelled is not None and cancelled():
                raise Cancelled
            return self.dynamics.token_logits(context, ids)

        with self._phase("maskgit_ms"):
            ids = self.sampler.block_ids(token_logits, new, valid, self.vocab.carry, self.dynamics.mask_id, generators)
        with self._phase("decode_ms"):
            nxt = tk.decode(frames, px, ids, self.vocab)
            if filled is not None:
                k = self.vocab.block
                carried = (ids == self.vocab.carry).repeat_interleave(k, 1).repeat_interleave(k, 2)
                nxt = torch.where((filled & carried)[..., None], moved, nxt)
            return tk.hold_overlay(frames, nxt, self.overlay), moves

    def _camera_move(self, frames: torch.Tensor, action: torch.Tensor, last_moves: torch.Tensor):
        """The camera's move of frames (B, H, W, 3) under each action (the most likely allowed one) and
        what it makes: moves (B, bands), px (B, bands, 2), the moved frames, the strip it uncovers
        (B, H, W) and the ids valid there (B, G, G, V)."""
        B, G, size = len(frames), self.config.image_size // self.vocab.block, self.config.image_size
        logits = self.dynamics.move_logits(frames, action, last_moves)  # (B, bands, moves)
        moves = logits.masked_fill(~self.dynamics.allowed_moves(action)[:, None], -torch.inf).argmax(-1)  # (B, bands)
        px = self.tokenizer.moves[moves]
        moved = tk.decode(frames, px, torch.full((B, G, G), self.vocab.carry, device=self.device), self.vocab)
        moved = tk.hold_overlay(frames, moved, self.overlay)
        return moves, px, moved, tk.hole(px, size, self.overlay), tk.valid_ids(px, self.vocab, size)

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
