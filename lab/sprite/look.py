"""Pictures of the rigid vote group (sprite.py): held-out frames and bundled prompts, jump, right, jump.
    python lab/sprite/look.py DATA OUT.png"""
"""Pictures: held-out first frames and bundled prompts held on jump, then on right, with and without the sprite move."""
import sys
import numpy as np
from PIL import Image
from genie_play.world.world_model import WorldModel
from genie_play.data.shards import open_folder
from genie_play.paths import prompts_dir
from genie_play.images import load_image
sys.path.insert(0, "lab/sprite")
from sprite import SpriteWorld

sh = open_folder(sys.argv[1])[0]
prompts = [np.array(sh.frames[c, 0]) for c in range(4)] + [p for p in sorted(prompts_dir().glob("*.png"))[:4]]
seq = [7] * 6 + [4] * 4 + [7] * 4
rows = []
for use in (False, True):
    w = WorldModel.load("models", "cpu")
    s = SpriteWorld(w) if use else None
    for p in prompts:
        w.reset(p); row = [w.frame]
        for a in seq:
            row.append(w.step(a))
            if s and p is prompts[0]:
                print(a, None if s.last[0] is None else (w.vocab.offsets()[s.last[0][0]].tolist(), int(s.last[0][1].sum())))
        rows.append(np.concatenate(row, 1))
Image.fromarray(np.concatenate(rows, 0)).resize((len(seq) * 128 + 128, len(rows) * 128), Image.NEAREST).save(sys.argv[2])
