"""Lab: `genie-play train lam` with the balanced loss (weighted.py) when WEIGHTED=1, else as shipped.
usage: WEIGHTED=1 python lab/lam_footage/train_lam.py --data DIR --out DIR --steps N"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if os.environ.get("WEIGHTED") == "1":
    import weighted  # noqa: F401  (patches the LAM)
from genie_play.cli import main

sys.exit(main(["train", "lam", *sys.argv[1:]]))
