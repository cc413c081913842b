"""Training: the LAM's and the dynamics model's loops, the recipe, distributed setup and checkpoints."""
