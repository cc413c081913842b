import torch
import torch.nn.functional as F
from genie_play.world import tokenizer as tk

def pixel_costs(prev, nxt, moves, vocab):
    B, H = prev.shape[:2]; G, k = H // vocab.block, vocab.block
    a, b = tk._unit(prev), tk._unit(nxt)
    flat = a.reshape(B, 3, H * H)
    base_y, base_x = tk.moved_from(moves, H)
    costs = torch.empty(B, vocab.size, G, G)
    for v, (dy, dx) in enumerate(vocab.offsets().tolist()):
        y, x = (base_y + dy).clamp(0, H - 1), (base_x + dx).clamp(0, H - 1)
        index = (y * H + x).reshape(B, 1, H * H).expand(-1, 3, -1)
        moved = torch.gather(flat, 2, index).view(B, 3, H, H)
        costs[:, v] = F.avg_pool2d((moved - b).pow(2).mean(dim=1, keepdim=True), k)[:, 0]
    return costs.permute(0, 2, 3, 1).masked_fill(~tk.valid_ids(moves, vocab, H), float("inf"))
