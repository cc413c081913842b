"""Drawing the whole window for the App: layout, the game view, and which panel each mode shows.

Layout: a top bar, the body (game view + action explorer, or the sketch/gallery/remap panel),
and the HUD at the bottom. Everything is recomputed from the window size every frame, so the
window can be resized freely. `redraw_due` says when the picture next changes by itself (a
spinner turns, a toast fades), so the loop draws only then or when something happened.
"""

from __future__ import annotations

import math
import time

import pygame

from genie_play.app import hud, theme

TOP, BOTTOM, PAD = 48, 78, 16
THINKING_AFTER_S = 0.15  # a step slower than this shows the "thinking" chip
FLASH_S = 0.25  # the HUD's action badge lights this long after each press


def layout(size: tuple[int, int], explorer: bool) -> dict[str, pygame.Rect]:
    w, h = size
    body = pygame.Rect(PAD, TOP + PAD, max(64, w - 2 * PAD), max(64, h - TOP - BOTTOM - 2 * PAD))
    side = max(220, min(380, int(w * 0.3))) if explorer and w >= 560 else 0
    view = pygame.Rect(body.x, body.y, body.width - (side + PAD if side else 0), body.height)
    return {"top": pygame.Rect(0, 0, w, TOP), "hud": pygame.Rect(0, h - BOTTOM, w, BOTTOM), "body": body,
            "view": view, "side": pygame.Rect(view.right + PAD, body.y, side, body.height)}


def draw_app(app) -> None:
    screen = app.screen
    t = time.monotonic() - app.started
    screen.fill(theme.BG)
    show_explorer = app.mode == "play" and app.explorer.visible
    rects = layout(screen.get_size(), show_explorer)
    if app.mode == "sketch":
        app.sketch.draw(screen, rects["body"], app.fonts)
    elif app.mode == "gallery":
        app.gallery.draw(screen, rects["body"], app.fonts)
    elif app.mode == "remap":
        saved = str(app.s.user_keymap) if app.s.user_keymap else "nowhere (no user folder)"
        app.remap.draw(screen, rects["body"], app.fonts, app.keymap, app.explorer.frames, saved, t)
    else:
        _game_view(app, screen, rects["view"], t)
        if show_explorer:
            app.explorer.draw(screen, rects["side"], app.fonts, app.keymap, app.last_code, app.hover, t, app.crisp)
    hud.top_bar(screen, rects["top"], app.fonts, _title(app), _badges(app))
    hud.hud(screen, rects["hud"], app.fonts, _fields(app), _action(app))
    hud.toasts(screen, rects["hud"].y - 10, app.fonts, app.toasts)
    if app.help:
        hud.help_overlay(screen, app.fonts, app.keymap)


def _game_view(app, screen: pygame.Surface, box: pygame.Rect, t: float) -> None:
    theme.panel(screen, box, (10, 11, 16), 10)
    if app.frame is None:
        job = app.worker.current
        seconds = time.perf_counter() - job.started if job is not None and job.started else 0.0
        hud.progress(screen, box, app.fonts, "Loading the world model…",
                     f"{app.s.weights}  ·  {seconds:.1f} s", t)
        return
    image, where = theme.fit_image(app.frame, box.inflate(-24, -24), app.crisp)
    screen.blit(image, where)
    app.view_rect = where
    pygame.draw.rect(screen, theme.LINE, where.inflate(4, 4), width=2, border_radius=3)
    job = app.worker.current
    if job is not None and job.kind in ("step", "undo", "reset") and time.perf_counter() - job.started > THINKING_AFTER_S:
        # a slow step (e.g. the first on a GPU) shows that the model is thinking, and for how long
        chip = pygame.Rect(where.x + 10, where.y + 10, 150, 30)
        theme.panel(screen, chip, theme.PANEL, 15, alpha=220)
        theme.spinner(screen, (chip.x + 16, chip.centery), 8, t)
        theme.text(screen, f"thinking {time.perf_counter() - job.started:.1f} s", (chip.x + 32, chip.centery),
                   app.fonts.small, theme.TEXT, anchor="midleft")
    if app.paused:
        theme.text(screen, "PAUSED", where.center, app.fonts.title, theme.ACCENT, anchor="center")
    if app.num_frames == 1 and app.last_code is None:
        keys = [f"{b.keys[0]}: {b.label}" for b in app.keymap.bindings if b.keys]
        hint = "press a key to play  ·  " + "  ·  ".join(keys[:4]) + "  ·  H for help"
        if app.character_box is not None:
            _outline_character(app, screen, where)
            hint = "press a key to play  ·  click a piece to make it the character  ·  " + "  ·  ".join(keys[:2]) + "  ·  H for help"
        theme.text(screen, hint, (box.centerx, box.bottom - 8), app.fonts.small, theme.DIM, anchor="midbottom",
                   max_width=box.width - 20)


def _outline_character(app, screen: pygame.Surface, where: pygame.Rect) -> None:
    """A frame around the piece the world took for the character, on the first frame only."""
    y, x, h, w = app.character_box
    size = len(app.frame)
    sx, sy = where.width / size, where.height / size
    box = pygame.Rect(round(where.x + x * sx) - 3, round(where.y + y * sy) - 3, round(w * sx) + 6, round(h * sy) + 6)
    box = box.clip(where.inflate(-2, -2))
    if box.width and box.height:
        pygame.draw.rect(screen, theme.ACCENT, box, width=2, border_radius=3)
        label = (box.x, box.y - 2) if box.y - where.y > 18 else (box.x, box.bottom + 16)
        theme.text(screen, "character", label, app.fonts.small, theme.ACCENT, anchor="bottomleft")


def redraw_due(app, last_draw: float, interval: float) -> float:
    """The time.monotonic() at which the picture drawn at `last_draw` changes by itself; inf if never.

    Moving things (spinners, a fading toast, the thinking chip's timer) redraw every `interval`;
    the rest change at known moments (a flash ends, a toast starts fading, a clock ticks)."""
    now = time.monotonic()
    job = app.worker.current
    thinking = None
    if job is not None and job.kind in ("step", "undo", "reset") and job.started:
        thinking = now - (time.perf_counter() - job.started) + THINKING_AFTER_S  # the chip appears then
    moving = (app.frame is None or (thinking is not None and thinking <= now)
              or (app.mode == "play" and app.explorer.visible and not app.explorer.complete))
    moments = [app.last_press + FLASH_S]
    for _, _, expires in app.toasts:
        if expires - hud.TOAST_FADE_S <= now < expires:
            moving = True
        moments += [expires - hud.TOAST_FADE_S, expires]
    if thinking is not None:
        moments.append(thinking)
    if app.recording is not None:  # the REC badge counts seconds
        moments.append(app.recording.started + math.floor(now - app.recording.started) + 1)
    if app.mode == "remap":  # the text cursor blinks twice a second
        moments.append(app.started + (math.floor((now - app.started) * 2) + 1) / 2)
    due = min([m for m in moments if m > last_draw], default=math.inf)
    return min(due, last_draw + interval) if moving else due


def _title(app) -> str:
    mode = {"sketch": "sketching a prompt", "gallery": "choosing a prompt", "remap": "remapping keys"}.get(app.mode)
    return mode or f"playing {app.prompt_name}"


def _badges(app) -> list:
    badges = []
    if app.recording is not None:
        seconds = int(time.monotonic() - app.recording.started)
        badges.append((f"REC {seconds // 60}:{seconds % 60:02d}  ·  {len(app.recording.frames)} frames", theme.REC))
    if app.paused:
        badges.append(("PAUSED", theme.ACCENT))
    badges.append(("crisp" if app.crisp else "smooth", theme.DIM))
    return badges


def _fields(app) -> list:
    steps, temperature = app.sampling
    frame_time, detail = "—", None
    if app.key_to_screen is not None:  # what the player felt: key -> this frame on screen
        ms = 1000 * app.key_to_screen
        frame_time = f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
        model_ms = 1000 * app.step_seconds
        detail = "precomputed" if app.last_precomputed else f"model {model_ms:.0f} ms  ·  {1000 / model_ms:.0f} fps"
    return [
        ("KEY TO SCREEN", frame_time, detail),
        ("DEVICE", app.device_label, app.device_hint),
        ("MASKGIT STEPS", "—" if steps is None else str(steps), "[  ]"),
        ("TEMPERATURE", "—" if temperature is None else f"{temperature:.2f}", "-  ="),
        ("FRAME", str(app.num_frames - 1) if app.num_frames else "—", "Bksp undoes" if app.num_frames > 1 else None),
    ]


def _action(app) -> tuple:
    lit = time.monotonic() - app.last_press < FLASH_S  # flash on every press, even a repeat
    if app.last_code is None:
        return None, "", app.last_key if lit else None, lit
    return app.last_code, app.keymap.label(app.last_code), app.last_key, lit
