"""Lab: the LAM's quantizer also pays for unsure picks. Its usage penalty reads the batch's mean
softmax, which stays spread while every clip's argmax is the same code (footage: perplexity 2-3 of
8); a penalty on each pick's own entropy (times SURE_WEIGHT) makes the mean softmax the histogram of
the codes actually chosen. Importing this module patches CategoricalQuantizer.forward (the rest of
the package's quantizer is kept)."""
import os

from genie_play.world import quantizer as q

SURE_WEIGHT = float(os.environ.get("SURE_WEIGHT", "0.01"))
_forward = q.CategoricalQuantizer.forward


def forward(self, z):
    out = _forward(self, z)
    probs = self.classify(z).softmax(dim=-1)  # (..., num_codes), as the package's forward computes them
    unsure = -(probs * probs.clamp_min(1e-9).log()).sum(dim=-1).mean()  # 0 when each pick is one-hot
    out.loss = out.loss + SURE_WEIGHT * unsure
    return out


q.CategoricalQuantizer.forward = forward
