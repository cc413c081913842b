"""Lab: where a footage world loses its first step. For held-out clips' first transitions, the
next frame rebuilt five ways (PSNR against the real one), and how often the move head picks the
tokenizer's move.
usage: python lab/lam_footage/step_one.py WORLD HELDOUT_SHARDS
"""
import sys

import torch

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import held_out_clips
from genie_play.eval.lam_metrics import infer_codes
from genie_play.world import tokenizer as tk
from genie_play.world.world_model import WorldModel

world = WorldModel.load(sys.argv[1], "cpu")
frames = held_out_clips(sys.argv[2], world.config, 64, 0)[0]  # (C, T, H, W, 3)
codes = infer_codes(world.lam, frames, "cpu")  # (C, T-1)
prev, nxt, action = frames[:, 0], frames[:, 1], codes[:, 0]
vocab, tok, dyn = world.vocab, world.tokenizer, world.dynamics
B, G = len(prev), world.config.image_size // vocab.block
with torch.inference_mode():
    true_moves, true_ids = tok.encode(prev, nxt)
    no_move = torch.full((B, vocab.bands), dyn.no_move)
    pred_moves = dyn.move_logits(prev, action, no_move).argmax(-1)
    carry = torch.full((B, G, G), vocab.carry)
    gens = [torch.Generator().manual_seed(i) for i in range(B)]

    def sampled(moves):
        px = tok.moves[moves]
        moved = tk.decode(prev, px, carry, vocab)
        hole, valid = tk.hole(px, 64), tk.valid_ids(px, vocab, 64)
        context = dyn.token_context(prev, moved, hole, action, moves)
        new = torch.nn.functional.max_pool2d(hole[:, None].float(), vocab.block)[:, 0].bool()
        valid[..., vocab.carry] |= ~new
        ids = world.sampler.block_ids(lambda i: dyn.token_logits(context, i), new, valid, vocab.carry, dyn.mask_id, gens)
        return tok.decode(prev, moves, ids), ids

    rows = {
        "tokenizer (true move, true ids)": tok.decode(prev, true_moves, true_ids),
        "true move, all carry": tok.decode(prev, true_moves, carry),
        "predicted move, all carry": tok.decode(prev, pred_moves, carry),
    }
    rows["true move, sampled ids"], ids_t = sampled(true_moves)
    rows["predicted move, sampled ids"], ids_p = sampled(pred_moves)
print(f"copy of the frame before: {M.psnr(nxt, prev).mean():.2f} dB")
for name, out in rows.items():
    print(f"{name:34s} {M.psnr(nxt, out).mean():.2f} dB")
print(f"move head = tokenizer's move: {(pred_moves == true_moves).float().mean():.2f}")
print(f"carry share: true {(true_ids == vocab.carry).float().mean():.2f}, sampled (true move) "
      f"{(ids_t == vocab.carry).float().mean():.2f}, sampled (predicted) {(ids_p == vocab.carry).float().mean():.2f}")
tm, pm = tok.moves[true_moves[:, 0]], tok.moves[pred_moves[:, 0]]
for i in range(min(16, B)):
    print(f"clip {i}: code {action[i].item()} true move {tm[i].tolist()} predicted {pm[i].tolist()} "
          f"psnr tok {M.psnr(nxt[i:i+1], rows['tokenizer (true move, true ids)'][i:i+1]).item():.1f} "
          f"pred {M.psnr(nxt[i:i+1], rows['predicted move, sampled ids'][i:i+1]).item():.1f}")
with torch.inference_mode():
    played = torch.stack([torch.from_numpy((world.reset(prev[i].numpy()), world.step(int(action[i])))[1]) for i in range(B)])
print(f"world.step (as play and eval run it): {M.psnr(nxt, played).mean():.2f} dB")
