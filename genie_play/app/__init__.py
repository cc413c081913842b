"""The playable app: the pygame window, keymaps and remapping, the action explorer, sketching,
recording and headless play. Only this package imports pygame, and only when a window opens.

Entry point: `genie_play.app.main.play(PlayOptions(...))`, which `genie-play play` calls.
"""
