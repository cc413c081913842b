"""Picture survival measures on hand-made scrolls and fake worlds whose answers are known."""

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from genie_play.eval.survival import (found, found_sharpness, kept, new_strip_sharpness, player_box_psnr, real_ceiling,
                                      right_code, scroll_key, structured_patches, survival, survival_metrics, view_move)
from genie_play.keymap import Binding, Keymap

SIZE = 64


def _wide(width=160, seed=0) -> np.ndarray:
    """A textured picture wider than the view: smooth random blobs, no repeats."""
    rng = np.random.default_rng(seed)
    small = (rng.random((16, width // 4, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, SIZE), Image.BILINEAR))


WIDE = _wide()
PROMPT = WIDE[:, :SIZE]
FLAT = np.full_like(PROMPT, 128)


def _view(t: int) -> np.ndarray:
    """The view after t steps holding right at 4 px a step: the content moves left."""
    return WIDE[:, 4 * t:4 * t + SIZE]


class RollWorld:
    """Holding `right` rolls the picture 4 px left each step (a rigid scroll); other codes stand still."""

    num_actions = 8
    config = SimpleNamespace(image_size=SIZE)

    def __init__(self, right=1, flat=False, roll=(-4, 1)):
        self.right, self.flat, self.roll = right, flat, roll  # roll: (px, axis) of the content's move

    def reset(self, image):
        self.frame = np.array(image)
        return self.frame

    def step(self, code):
        if self.flat:
            return np.full_like(self.frame, 128)
        self.frame = np.roll(self.frame, self.roll[0], axis=self.roll[1]) if code == self.right else self.frame
        return self.frame


def test_structured_patches_are_the_detailed_half_and_none_on_a_flat_frame():
    assert structured_patches(FLAT) == []
    half = np.array(FLAT)
    half[:, 32:] = (np.indices((SIZE, 32)).sum(0) % 2 * 255)[..., None]  # a checkerboard right half
    corners = structured_patches(half)
    assert corners and all(x >= 32 for _, x in corners) and len(corners) == 32
    assert len(structured_patches(PROMPT)) == 32  # strictly above the median of 64 patches


def test_a_rigid_scroll_keeps_the_picture_and_moves_the_view_4_px_a_step():
    for k in (1, 4, 8):
        assert kept(PROMPT, _view(k), k) >= 0.95
    assert view_move([_view(t) for t in range(9)]) == pytest.approx(4.0)


def test_a_flat_frame_keeps_nothing_and_an_unchanged_frame_keeps_all_without_moving():
    assert all(kept(PROMPT, FLAT, k) == 0.0 for k in (1, 4, 8))
    assert all(kept(PROMPT, PROMPT, k) == 1.0 for k in (1, 4, 8))
    assert view_move([PROMPT] * 9) == 0.0


def test_a_scroll_the_wrong_way_keeps_little():
    prompt = WIDE[:, 40:40 + SIZE]
    for k in (1, 4, 8):
        moved_left = WIDE[:, 40 - 4 * k:40 - 4 * k + SIZE]  # the view went left: content moved right
        assert kept(prompt, moved_left, k) <= 0.2
        assert kept(prompt, moved_left, k, direction=1) >= 0.95  # the way it did go, it kept all


def test_kept_is_none_when_nothing_stays_in_view():
    assert kept(PROMPT, PROMPT, steps=15) is None  # 60 px: every 8 px patch leaves a 64 px view
    assert kept(PROMPT, PROMPT, steps=14) is not None  # 56 px: the right-most column stays


def test_kept_is_fast():
    kept(PROMPT, _view(8), 8)
    start = time.process_time()  # this process's CPU time: other jobs on the machine do not count
    for _ in range(20):
        kept(PROMPT, _view(8), 8)
    assert (time.process_time() - start) / 20 < 0.005


def test_new_strip_sharpness_is_zero_for_a_blank_strip_and_near_one_for_the_pictures_own():
    assert new_strip_sharpness(PROMPT, FLAT) == 0.0
    assert new_strip_sharpness(PROMPT, _view(8)) >= 0.5
    assert new_strip_sharpness(PROMPT, PROMPT) >= 0.5


def test_survival_on_a_rigid_scroll_and_on_a_world_that_paints_grey():
    scroll = survival(RollWorld(), PROMPT, code=1)
    assert set(scroll) == {"kept_1", "kept_4", "kept_8", "kept_32", "px_per_step", "new_strip_sharpness"}
    assert min(scroll["kept_1"], scroll["kept_4"], scroll["kept_8"]) >= 0.95
    assert scroll["kept_32"] is None  # 128 px: nothing of the prompt can stay in view
    assert scroll["px_per_step"] == pytest.approx(4.0) and scroll["new_strip_sharpness"] >= 0.5
    still = survival(RollWorld(), PROMPT, code=0)
    assert still["kept_8"] == 1.0 and still["px_per_step"] == 0.0
    flat = survival(RollWorld(flat=True), PROMPT, code=1)
    assert flat["kept_1"] == flat["kept_8"] == 0.0 and flat["new_strip_sharpness"] == 0.0


def _bind_only_up(folder):
    """A keymap beside a world's weights in `folder` whose only arrow is up, on code 1 (River Raid's)."""
    (folder / "keymap.toml").write_text(Keymap(tuple(
        Binding(c, "scroll up" if c == 1 else f"code {c}", ("up",) if c == 1 else ()) for c in range(8))).to_toml())


def test_a_world_that_scrolls_up_is_measured_along_its_own_axis(tmp_path):
    up = RollWorld(roll=(4, 0))  # content moves down: the view goes up, as in River Raid
    measured = survival(up, PROMPT, code=1, key="up")
    assert min(measured["kept_1"], measured["kept_8"]) >= 0.95 and measured["px_per_step"] == pytest.approx(4.0)
    assert survival(up, PROMPT, code=1, key="down")["px_per_step"] == pytest.approx(-4.0)
    _bind_only_up(tmp_path)
    up.source = tmp_path
    assert scroll_key(up, PROMPT) == ("up", 1)  # no right key: the arrow the keymap has


def test_right_code_from_the_keymap_else_from_the_view(tmp_path):
    from conftest import LABELLED_KEYMAP

    assert right_code(RollWorld(right=2), PROMPT) == 2  # no keymap: the code that scrolls right
    (tmp_path / "keymap.toml").write_text(LABELLED_KEYMAP.read_text())
    world = RollWorld(right=2)
    world.source = tmp_path
    assert right_code(world, PROMPT) == 1  # the keymap labels code 1 right


def _clips(steps=9):
    """One real clip scrolling right at 4 px a step, its views (camera x, player x, y feet, ...)."""
    frames = np.stack([_view(t) for t in range(steps)])[None]
    views = [[[4 * t, 20, 50, 0, 1] for t in range(steps)]]
    return frames, views


def test_real_ceiling_of_a_rigid_scroll_is_one_and_skips_standing_clips():
    frames, views = _clips()
    still = np.stack([PROMPT] * 9)[None]
    ceiling = real_ceiling(np.concatenate([frames, still, frames]), views + [[[0, 20, 50, 0, 1]] * 9, None])
    assert ceiling["kept_real_1"] >= 0.95 and ceiling["kept_real_8"] >= 0.95
    assert ceiling["kept_real_pairs_1"] == 8 and ceiling["kept_real_pairs_8"] == 1
    assert real_ceiling(still, [[[0, 20, 50, 0, 1]] * 9])["kept_real_1"] is None


def test_player_box_psnr_is_high_on_identical_clips_and_drops_where_the_player_was_blanked():
    frames, views = _clips()
    same = player_box_psnr(frames, frames, views)
    assert len(same) == 8 and all(v >= 60 for v in same)
    blanked = frames.copy()
    blanked[:, :, 39:51, 14:26] = 0  # the box around the sprite, feet at (20, 50)
    lower = player_box_psnr(frames, blanked, views + [None])  # a clip without views is skipped
    assert all(v < 30 for v in lower)
    elsewhere = frames.copy()
    elsewhere[:, :, :20, 40:] = 0  # far from the player: the box does not see it
    assert all(v >= 60 for v in player_box_psnr(frames, elsewhere, views))


def test_survival_metrics_adds_every_key():
    frames, views = _clips()
    result = {}
    survival_metrics(RollWorld(), frames, frames, [{"view": views[0], "resets": []}], result)
    for key in ("player_box_psnr_t1", "player_box_psnr_t8", "player_box_psnr_8", "kept_real_1", "kept_real_4",
                "kept_real_8", "survival_prompts", "survival_own", "kept_1_prompts", "kept_8_prompts", "kept_1_own",
                "kept_8_own", "px_per_step_prompts", "px_per_step_own", "new_strip_sharpness_prompts",
                "new_strip_sharpness_own"):
        assert key in result, key
    assert result["survival_right_code"] == 1 and len(result["survival_own"]) == 6
    assert result["kept_1_own"] >= 0.95 and result["px_per_step_own"] == pytest.approx(4.0, abs=0.5)
    assert not math.isnan(result["player_box_psnr_8"])


def test_survival_metrics_of_footage_whose_view_only_goes_up_measure_every_group_along_up(tmp_path):
    frames, _ = _clips()
    world = RollWorld(roll=(4, 0))
    _bind_only_up(tmp_path)
    world.source = tmp_path
    result = {}
    survival_metrics(world, frames, frames, [{"view": None}], result)  # no views: own footage
    assert result["survival_key"] == "up" and result["survival_right_code"] == 1
    for group in ("prompts", "own", "heldout"):
        assert result[f"px_per_step_{group}"] == pytest.approx(4.0, abs=0.5), group


def _torn(picture: np.ndarray) -> np.ndarray:
    """A picture torn into horizontal streaks, as a world that repeats the edge column makes it."""
    return np.repeat(picture[:, :1], picture.shape[1], axis=1)


def test_found_detail_counts_a_scrolled_picture_and_not_a_torn_one():
    from genie_play.eval import metrics as M
    import torch

    bank = WIDE[None]  # the real frames: the wide picture
    views = np.stack([_view(5), _torn(_view(5)), FLAT])
    hit = found(views, bank)
    assert hit[0].all()  # every patch of a scrolled view is somewhere in the picture
    assert hit[1].mean() < 0.3  # streaks are found nowhere (but in a flat corner)
    plain = M.sharpness(torch.from_numpy(views)).numpy()
    detail, share = found_sharpness(views, bank)
    assert detail[0] == pytest.approx(plain[0], rel=0.05) and share[0] == 1.0
    assert plain[1] > 0.3 * plain[0] and detail[1] < 0.1 * detail[0]  # sharp streaks, little found detail
    assert detail[2] == 0
