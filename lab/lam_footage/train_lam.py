"""Lab: `genie-play ARGS...` with a LAM loss of the lab: LOSS=balanced (weighted.py), LOSS=confident
(confident.py), MOVE_WEIGHT=W (the move-naming loss's weight, shipped 0.01), unset: as shipped. usage: LOSS=balanced python lab/lam_footage/train_lam.py train lam --data DIR --out DIR"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if os.environ.get("LOSS") == "balanced":
    import weighted  # noqa: F401  (patches the LAM)
elif os.environ.get("LOSS") == "confident":
    import confident  # noqa: F401  (patches the LAM's quantizer)
if os.environ.get("MOVE_WEIGHT"):
    import genie_play.world.lam

    genie_play.world.lam.MOVE_WEIGHT = float(os.environ["MOVE_WEIGHT"])  # read at each forward
from genie_play.cli import main

sys.exit(main(sys.argv[1:]))
