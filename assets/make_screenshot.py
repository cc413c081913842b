"""Takes assets/screenshot.png: the game's own window loop on the shipped weights, one keypress, then
the idle previews of all eight actions; drawn by SDL's offscreen driver, so no display is needed.

    python assets/make_screenshot.py [WEIGHTS_DIR]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from genie_play.app.window import App, WindowSettings, open_window  # noqa: E402
from genie_play.keymap import load_keymap  # noqa: E402
from genie_play.paths import default_prompt, models_dir, prompts_dir  # noqa: E402

HERE = Path(__file__).resolve().parent


def settle(app: App, timeout: float = 120.0) -> None:
    """Run the window's loop body until every step and preview is done."""
    deadline = time.monotonic() + timeout
    app.frame_once()
    while not app.idle and time.monotonic() < deadline:
        app.frame_once()


def main() -> None:
    weights = Path(sys.argv[1]) if len(sys.argv) > 1 else models_dir()
    keymap = load_keymap(weights / "keymap.toml")
    with tempfile.TemporaryDirectory() as config:  # no saved keymap of yours in the picture
        settings = WindowSettings(weights=weights, prompt=default_prompt(), keymap=keymap, device="cpu",
                                  user_keymap=Path(config) / "keymap.toml", prompts=prompts_dir(),
                                  captures=Path(config), preview_delay=0.0)
        app = App(settings, open_window(settings.size))
        settle(app)
        for key in (pygame.K_RIGHT, pygame.K_RIGHT):  # two steps; the action explorer then previews all eight
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))
            settle(app)
        app.frame_once()
        pygame.image.save(app.screen, str(HERE / "screenshot.png"))
        app.close()
    print(f"wrote {HERE / 'screenshot.png'}")


if __name__ == "__main__":
    main()
