"""Benchmarks: keypress latency (the model and the real window), soak, and RL environment throughput."""
