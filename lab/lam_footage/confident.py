"""Lab: the LAM's quantizer also pays for unsure picks. Its usage penalty reads the batch's mean
softmax, which stays spread while every clip's argmax is the same code (footage: perplexity 2-3 of
8); a penalty on each pick's own entropy (times SURE_WEIGHT) makes the mean softmax the histogram of
the codes actually chosen. Importing this module patches CategoricalQuantizer.forward."""
import math
import os

import torch.nn.functional as F

from genie_play.world import quantizer as q

SURE_WEIGHT = float(os.environ.get("SURE_WEIGHT", "0.01"))


def forward(self, z):
    probs = self.classify(z).softmax(dim=-1)  # (..., num_codes)
    ids = probs.argmax(dim=-1)
    hard = F.one_hot(ids, self.num_codes).to(probs.dtype)
    quantized = (hard + probs - probs.detach()) @ self.codes()
    mean = probs.reshape(-1, self.num_codes).mean(dim=0)
    deficit = math.log(self.num_codes) + (mean * mean.clamp_min(1e-9).log()).sum()
    unsure = -(probs * probs.clamp_min(1e-9).log()).sum(dim=-1).mean()  # 0 when each pick is one-hot
    _, perplexity, usage = q.code_share(ids, self.num_codes, probs.dtype)
    return q.QuantizerOutput(quantized=quantized, ids=ids, loss=self.usage_weight * deficit + SURE_WEIGHT * unsure,
                             perplexity=perplexity, usage=usage)


q.CategoricalQuantizer.forward = forward
