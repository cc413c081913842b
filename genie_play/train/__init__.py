"""Training: the loop, per-network objectives, distributed setup and checkpoints."""
