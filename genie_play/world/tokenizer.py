"""The tokenizer: a frame coded as the frame before, moved by the camera, plus block tokens.

Genie's tokenizer codes every frame from scratch; this one codes only what changed since the
frame before. A transition x_t -> x_{t+1} becomes
    move    the camera's whole-pixel move (dy, dx) of the content, one per frame, applied as an
            exact copy of x_t (no resampling, so no blur);
    tokens  one id per block of `block` x `block` pixels: where in x_t the block's pixels come
            from, as an offset from where the move alone would take them. The `carry` id (offset
            0) keeps the moved frame; the others paint the block with another block of x_t: the
            character that stays on screen while the view scrolls, its new height in a jump, and
            the strip that scrolls in, painted with the picture's own tiles.
Every pixel of a decoded frame is a pixel of the frame before, so a player's picture keeps its
sharpness however long they play. Encoding is a search (the best-matching source of each block,
with a small price on moving away from `carry`), so the tokenizer has nothing to learn: what it
can represent is measured, not trained (`genie-play eval`: tokenizer_psnr).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

CARRY_PRICE = 4e-3  # mean squared error a non-carry source must save to be chosen: a block the move
# alone keeps within 24 dB stays carried, so only clear changes (a sprite, the new strip) are coded
PROBE_BANDS = 8  # bands of rows the camera's move is measured in
MOVE_SLACK = 0.15  # share of the frame's pixels a band's move may break beyond standing still and still
# be the camera's: a pan under a cockpit breaks 3-16% (its dashboard), a sprite's move 21-42%
MOVE_SUPPORT = 0.05  # pixels a move must match beyond standing still, summed over the bands that chose it,
# as a share of one band: a small ship climbing over black sky (Defender) matches 2-5% of its band
DISTANCE_PRICE = 2e-5  # per pixel of offset: of equally good sources, the nearest (the same row's tile)
OVERLAY_HELD = 0.9  # share of a row's telling pixels that must stay put on screen for it to be an overlay's
OVERLAY_EVIDENCE = 0.03  # telling pixels per moving transition, as a share of the width, for a row to tell
OVERLAY_REACH = 0.25  # share of the frame's rows an overlay may take at the top, and at the bottom
OVERLAY_EDGE = 0.6  # a band is taken only if the first telling row past it has a smaller held share: Defender's
# score box sits in the ground (rows past its band: 0.73 held), and cutting it in two tears it


@dataclass(frozen=True)
class Vocabulary:
    """The ids a block may take: offsets (dy, dx) in [-reach_y, reach_y] x [-reach_x, reach_x]."""

    block: int  # the fields of config.TokenizerConfig of the same names
    reach_y: int
    reach_x: int
    move_y: int
    move_x: int
    bands: int

    @property
    def size(self) -> int:
        return (2 * self.reach_y + 1) * (2 * self.reach_x + 1)

    @property
    def carry(self) -> int:
        return self.size // 2

    @property
    def moves(self) -> int:
        return (2 * self.move_y + 1) * (2 * self.move_x + 1)

    @property
    def still(self) -> int:
        """The camera move class (0, 0)."""
        return self.moves // 2

    def offsets(self, device=None) -> torch.Tensor:
        """(size, 2) long: the (dy, dx) of every id."""
        dy, dx = torch.meshgrid(torch.arange(-self.reach_y, self.reach_y + 1, device=device),
                                torch.arange(-self.reach_x, self.reach_x + 1, device=device), indexing="ij")
        return torch.stack([dy.flatten(), dx.flatten()], dim=1)

    def move_table(self, device=None) -> torch.Tensor:
        """(moves, 2) long: the (dy, dx) of every camera move class."""
        dy, dx = torch.meshgrid(torch.arange(-self.move_y, self.move_y + 1, device=device),
                                torch.arange(-self.move_x, self.move_x + 1, device=device), indexing="ij")
        return torch.stack([dy.flatten(), dx.flatten()], dim=1)


def vocabulary(config) -> Vocabulary:
    """The vocabulary a GenieConfig's `tokenizer` section names."""
    c = config.tokenizer
    return Vocabulary(c.block, c.reach_y, c.reach_x, c.move_y, c.move_x, c.bands)


def _unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
    return frames.permute(0, 3, 1, 2).float() / 255.0


def estimate_move(prev: torch.Tensor, nxt: torch.Tensor, vocab: Vocabulary) -> torch.Tensor:
    """The camera's move from prev to nxt: uint8 (B, H, W, 3) each -> move classes (B, bands).

    Each of PROBE_BANDS bands of rows takes the move under which most of its pixels match exactly
    (to 2 levels of 255; a flat sky matches any move and takes the smallest). With one band (the
    shipped world) the frame takes the largest of those moves: the nearest layer, the ground the
    player stands on, moves fastest, and a parallax backdrop left to the block tokens (or, where
    a shift of it still looks right, carried) keeps a player's picture from tearing apart. A band
    move that breaks more than MOVE_SLACK of the whole frame beyond standing still is not the
    camera's: it is a sprite's (a helicopter climbing over flat desert) or a band of its own (a
    cockpit's ground stripes), and moving the frame by it would tear the rest. Nor is a move that
    the bands choosing it match hardly better than standing still: a ship over black sky."""
    a, b = _unit(prev), _unit(nxt)
    B, _, H, W = a.shape
    bands = vocab.bands if vocab.bands > 1 else min(PROBE_BANDS, H // vocab.block)
    table = vocab.move_table()
    costs = []
    for dy, dx in table.tolist():  # content moves by (dy, dx): b[y, x] ~ a[y - dy, x - dx]
        moved = _shift(a, dy, dx)  # (B, 3, H, W), NaN where a shows nothing
        miss = (moved - b).abs().amax(dim=1) > 2.5 / 255  # (B, H, W); NaN compares False: not counted
        seen = ~moved[:, 0].isnan()
        miss = miss.view(B, bands, H // bands, W).sum(dim=(2, 3)).float()
        seen = seen.view(B, bands, H // bands, W).sum(dim=(2, 3)).float().clamp_min(1)
        costs.append(miss / seen + 1e-4 * (abs(dy) + abs(dx)))  # ties (a flat sky) go to the smallest move
    costs = torch.stack(costs, dim=-1)  # (B, bands, moves)
    best = costs.argmin(dim=-1)  # (B, bands)
    if vocab.bands > 1:
        return best
    distance = table.abs().sum(dim=1)  # (moves,)
    still = vocab.still
    whole = costs.mean(dim=1)  # (B, moves): each move's cost over the frame
    fits = torch.gather(whole, 1, best) <= whole[:, still:still + 1] + MOVE_SLACK  # (B, bands)
    gain = (costs[..., still] - torch.gather(costs, 2, best[..., None])[..., 0]).clamp_min(0)  # (B, bands)
    agree = (best[:, :, None] == best[:, None, :]).float()  # (B, bands, bands): bands that chose the same move
    fits &= (agree * gain[:, None, :]).sum(-1) >= MOVE_SUPPORT
    size = distance[best].masked_fill(~fits, -1)  # (B, bands): how far each band moved
    fastest = torch.gather(best, 1, size.argmax(dim=1, keepdim=True))  # (B, 1)
    return torch.where(fits.any(dim=1, keepdim=True), fastest, torch.full_like(fastest, still))


def _shift(a: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """a (B, C, H, W) with its content moved by (dy, dx); NaN where nothing moved in."""
    out = torch.full_like(a, float("nan"))
    H, W = a.shape[-2:]
    out[..., max(0, dy):H + min(0, dy), max(0, dx):W + min(0, dx)] = a[..., max(0, -dy):H + min(0, -dy), max(0, -dx):W + min(0, -dx)]
    return out


def row_moves(moves: torch.Tensor, size: int) -> torch.Tensor:
    """Band moves (B, bands, 2) -> the move of every row (B, size, 2)."""
    return moves.repeat_interleave(size // moves.shape[1], dim=1)


def moved_from(moves: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the camera's move (B, bands, 2) alone takes each pixel's source: rows and columns
    (B, H, W) in the frame before, unclamped (outside the frame in the strip that scrolls in)."""
    rows = row_moves(moves, size)[:, :, None]  # (B, H, 1, 2)
    pixels = torch.arange(size, device=moves.device)
    y = (pixels[None, :, None] - rows[..., 0]).expand(-1, -1, size)
    return y, pixels[None, None, :] - rows[..., 1]


def source_grid(moves: torch.Tensor, ids: torch.Tensor, vocab: Vocabulary, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each pixel of the next frame comes from in the frame before: (B, H, W) rows and columns.

    moves (B, bands, 2) content moves in px, ids (B, G, G) block ids. Sources outside the frame
    repeat its edge."""
    k = vocab.block
    offset = vocab.offsets(ids.device)[ids]  # (B, G, G, 2)
    offset = offset.repeat_interleave(k, dim=1).repeat_interleave(k, dim=2)  # (B, H, W, 2)
    y, x = moved_from(moves, size)
    return (y + offset[..., 0]).clamp(0, size - 1), (x + offset[..., 1]).clamp(0, size - 1)


def decode(prev: torch.Tensor, moves: torch.Tensor, ids: torch.Tensor, vocab: Vocabulary) -> torch.Tensor:
    """The next frame, uint8 (B, H, W, 3): prev (B, H, W, 3) uint8 copied pixel for pixel as told."""
    B, H = prev.shape[:2]
    y, x = source_grid(moves, ids, vocab, H)
    flat = prev.reshape(B, H * H, 3)
    index = (y * H + x).reshape(B, H * H, 1).expand(-1, -1, 3)
    return torch.gather(flat, 1, index).view_as(prev)


def valid_ids(moves: torch.Tensor, vocab: Vocabulary, size: int) -> torch.Tensor:
    """(B, G, G, size) bool: the ids whose whole source block lies inside the frame."""
    G, k = size // vocab.block, vocab.block
    offsets = vocab.offsets(moves.device)  # (V, 2)
    corner = torch.arange(G, device=moves.device) * k  # (G,)
    rows = row_moves(moves, size)[:, ::k, None, None]  # (B, G, 1, 1, 2): a block's rows share a band
    y = corner[None, :, None, None] - rows[..., 0] + offsets[None, None, None, :, 0]
    x = corner[None, None, :, None] - rows[..., 1] + offsets[None, None, None, :, 1]
    return (y >= 0) & (y <= size - k) & (x >= 0) & (x <= size - k)  # (B, G, G, V)


@torch.no_grad()
def encode(prev: torch.Tensor, nxt: torch.Tensor, moves: torch.Tensor, vocab: Vocabulary) -> torch.Tensor:
    """The block ids (B, G, G) that rebuild nxt from prev under `moves` (B, bands, 2) best, priced as above."""
    B, H = prev.shape[:2]
    G, k = H // vocab.block, vocab.block
    a, b = _unit(prev), _unit(nxt)  # (B, 3, H, W)
    flat = a.reshape(B, 3, H * H)
    base_y, base_x = moved_from(moves, H)  # (B, H, W) each
    costs = torch.empty(B, vocab.size, G, G, device=prev.device)
    for v, (dy, dx) in enumerate(vocab.offsets().tolist()):
        y, x = (base_y + dy).clamp(0, H - 1), (base_x + dx).clamp(0, H - 1)
        index = (y * H + x).reshape(B, 1, H * H).expand(-1, 3, -1)
        moved = torch.gather(flat, 2, index).view(B, 3, H, H)
        costs[:, v] = F.avg_pool2d((moved - b).pow(2).mean(dim=1, keepdim=True), k)[:, 0]
        costs[:, v] += DISTANCE_PRICE * (abs(dy) + abs(dx)) + (CARRY_PRICE if v != vocab.carry else 0.0)
    costs = costs.permute(0, 2, 3, 1).masked_fill(~valid_ids(moves, vocab, H), float("inf"))
    return costs.argmin(dim=-1)  # (B, G, G)


def hole(moves: torch.Tensor, size: int, overlay: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """(B, H, W) bool: the pixels the camera's move (B, bands, 2) leaves without a source (the new strip).
    With an overlay of (top, bottom) rows, a world pixel whose source lies under the overlay has none either."""
    top, bottom = overlay
    y, x = moved_from(moves, size)
    world = torch.zeros(size, dtype=torch.bool, device=moves.device)
    world[top:size - bottom] = True
    return world[None, :, None] & ((y < top) | (y >= size - bottom) | (x < 0) | (x >= size))


def hold_overlay(prev: torch.Tensor, nxt: torch.Tensor, overlay: tuple[int, int]) -> torch.Tensor:
    """nxt (B, H, W, 3) with the overlay's (top, bottom) rows as they were in prev: they are not the world's."""
    top, bottom = overlay
    if top == bottom == 0:
        return nxt
    nxt = nxt.clone()
    nxt[:, :top] = prev[:, :top]
    nxt[:, nxt.shape[1] - bottom:] = prev[:, nxt.shape[1] - bottom:]
    return nxt


def overlay_rows(prev: torch.Tensor, nxt: torch.Tensor, moves: torch.Tensor, chunk: int = 256) -> tuple[int, int]:
    """The rows at the top and at the bottom of the screen that stay put while the camera moves: a
    score bar, a fuel gauge, a radar drawn over the world. prev, nxt uint8 (N, H, W, 3) and the
    camera's moves (N, 2) px of N transitions -> (top, bottom) row counts.

    A pixel tells when exactly one of "held on screen" and "moved with the camera" matches it; a
    row is an overlay's when OVERLAY_HELD of its telling pixels were held, the world's when fewer
    were; rows that hardly tell (flat grey) between the screen's edge and an overlay's row are the
    overlay's. A band whose edge is not clean (the overlay goes on past it) is not taken."""
    moving = moves.abs().sum(dim=1) > 0
    prev, nxt, moves = prev[moving], nxt[moving], moves[moving]
    H, W = prev.shape[1:3]
    tells, held_wins = torch.zeros(H), torch.zeros(H)
    for i in range(0, len(prev), chunk):
        a, b = _unit(prev[i:i + chunk]), _unit(nxt[i:i + chunk])
        moved = torch.stack([_shift(a[j:j + 1], dy, dx)[0] for j, (dy, dx) in enumerate(moves[i:i + chunk].tolist())])
        held = (a - b).abs().amax(dim=1) <= 2.5 / 255  # (n, H, W)
        carried = (moved - b).abs().amax(dim=1) <= 2.5 / 255  # NaN (nothing moved in) compares False
        telling = (held ^ carried) & ~moved[:, 0].isnan()
        tells += telling.float().sum(dim=(0, 2))
        held_wins += (telling & held).float().sum(dim=(0, 2))
    evidence = tells >= OVERLAY_EVIDENCE * W * max(1, len(prev))
    held_share = held_wins / tells.clamp_min(1)  # (H,)
    overlay = evidence & (held_share >= OVERLAY_HELD)

    def band(rows: list[int]) -> int:
        size = 0
        for n, r in enumerate(rows[:int(OVERLAY_REACH * H)]):
            if evidence[r] and not overlay[r]:
                break
            if overlay[r]:
                size = n + 1
        past = [r for r in rows[size:] if evidence[r]]
        return size if not past or held_share[past[0]] < OVERLAY_EDGE else 0

    return band(list(range(H))), band(list(range(H - 1, -1, -1)))


class Tokenizer(torch.nn.Module):
    """The tokenizer as a network file: its vocabulary (offsets and camera moves) and the two directions.

    encode(prev, next) -> (band moves (B, bands), block ids (B, G, G)); decode(prev, moves, ids) -> next."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.vocab = vocabulary(config)
        self.register_buffer("offsets", self.vocab.offsets())
        self.register_buffer("moves", self.vocab.move_table())

    def encode(self, prev: torch.Tensor, nxt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        moves = estimate_move(prev, nxt, self.vocab)
        return moves, encode(prev, nxt, self.moves[moves], self.vocab)

    def decode(self, prev: torch.Tensor, moves: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return decode(prev, self.moves[moves], ids, self.vocab)
