"""genie_play: the Genie world model (Bruce et al., 2024) at laptop scale, with a pygame front end.

Importing the package is cheap on purpose (no torch), so `genie-play --help` and `--version`
answer instantly; the networks, training and the app are imported by the commands that use them.
"""

__version__ = "0.5.0"
