"""Keymaps: which keys play each of the 8 latent action codes, and the human label of each code.

A keymap is a TOML file, one `[[action]]` table per code:

    [[action]]
    code = 2
    label = "jump"
    keys = ["up", "w", "space"]

Key names are SDL's (what pygame.key.name says: "left", "space", "a", "left shift", "[+]").
The map used is `--keymap FILE`, else the user's saved map, else the shipped `models/keymap.toml`.
This module never imports pygame, so headless play resolves key names on machines without it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path

from genie_play.errors import GenieError, file_error
from genie_play.paths import models_dir

NUM_ACTIONS = 8
MAX_LABEL = 24  # fits the HUD and a thumbnail caption
MAX_KEYMAP_BYTES = 64 * 1024  # a full keymap is under 2 KB; refuse anything huge before reading it
KEYMAP_FILE = "keymap.toml"

# Every key a keymap may name, spelled as pygame.key.name() spells it (tests check the round trip).
KEY_NAMES = frozenset(
    list(string.ascii_lowercase) + list(string.digits) + [f"f{i}" for i in range(1, 13)]
    + [f"[{d}]" for d in string.digits] + ["[+]", "[-]", "[*]", "[/]", "[.]", "enter"]
    + ["space", "return", "tab", "backspace", "escape", "up", "down", "left", "right",
       "left shift", "right shift", "left ctrl", "right ctrl", "left alt", "right alt",
       "insert", "delete", "home", "end", "page up", "page down",
       ",", ".", "/", ";", "'", "[", "]", "-", "=", "`", "\\"]
)
ALIASES = {"esc": "escape", "lshift": "left shift", "rshift": "right shift", "lctrl": "left ctrl",
           "rctrl": "right ctrl", "lalt": "left alt", "ralt": "right alt", "pageup": "page up",
           "pagedown": "page down", "del": "delete", "ins": "insert", "comma": ",", "period": ".",
           "slash": "/", "minus": "-", "equals": "=", "spacebar": "space"}
# The app's own controls in play mode: a keymap may not take them, or they would stop working.
RESERVED = {
    "h": "help", "f1": "help", "escape": "quit / close", "r": "reset", "backspace": "undo",
    "p": "pause", "f12": "screenshot", "f9": "record GIF", "f10": "record MP4",
    "tab": "action explorer", "f5": "refresh explorer", "[": "fewer MaskGIT steps",
    "]": "more MaskGIT steps", "-": "lower temperature", "=": "higher temperature",
    "v": "crisp/smooth scaling", "g": "gallery", "k": "sketch", "m": "remap",
}


def normalize_key(name: str) -> str:
    """Lower-case a key name and apply the friendly aliases ("esc" -> "escape")."""
    name = " ".join(str(name).strip().lower().split())
    return ALIASES.get(name, name)


@dataclass(frozen=True)
class Binding:
    """One latent action code: its label and the keys that play it (possibly none)."""

    code: int
    label: str
    keys: tuple[str, ...] = ()
    note: str = ""  # how a proposed label was chosen; written as a comment, not read back


@dataclass(frozen=True)
class Keymap:
    """The 8 codes' bindings, in code order, and where they were loaded from."""

    bindings: tuple[Binding, ...]
    source: str = "built-in"

    def code_for_key(self, key: str) -> int | None:
        key = normalize_key(key)
        return next((b.code for b in self.bindings if key in b.keys), None)

    def label(self, code: int) -> str:
        return self.bindings[code].label if 0 <= code < len(self.bindings) else f"code {code}"

    def keys_text(self, code: int) -> str:
        """The keys of a code for display, e.g. "left / a", or "no key"."""
        keys = self.bindings[code].keys if 0 <= code < len(self.bindings) else ()
        return " / ".join(keys) if keys else "no key"

    @property
    def unbound(self) -> list[int]:
        return [b.code for b in self.bindings if not b.keys]

    def rebind(self, code: int, key: str | None = None, label: str | None = None) -> Keymap:
        """A new keymap where `key` plays only `code` (taken from any other code) and/or a new label."""
        out = []
        key = normalize_key(key) if key is not None else None
        if key is not None:
            _check_key(key, where="remap")
        for b in self.bindings:
            keys = tuple(k for k in b.keys if k != key)
            if b.code == code:
                keys = (key,) if key is not None else b.keys
                b = dataclasses.replace(b, label=_check_label(label, code, "remap") if label is not None else b.label)
            out.append(dataclasses.replace(b, keys=keys))
        return Keymap(tuple(out), self.source)

    def resolve(self, token: str) -> int:
        """A headless --keys word -> code: a label ("jump", "jump_left"), a key name, or "code:N"."""
        word = token.strip().lower()
        match = re.fullmatch(r"code:?(\d+)", word)
        if match and int(match.group(1)) < len(self.bindings):
            return int(match.group(1))
        for b in self.bindings:
            if _label_form(b.label) == _label_form(word):
                return b.code
        code = self.code_for_key(word)
        if code is not None:
            return code
        names = [b.label for b in self.bindings] + [k for b in self.bindings for k in b.keys]
        hint = difflib.get_close_matches(word, names, n=1)
        raise GenieError(f"--keys: '{token}' is not a label or key of the keymap ({self.source})"
                         + (f"; did you mean '{hint[0]}'?" if hint else f"; labels: {', '.join(b.label for b in self.bindings)}"))

    def to_toml(self) -> str:
        """The keymap as TOML in the shipped file's layout (one-line key lists, easy to hand-edit)."""
        lines = ["# genie_play keymap: each latent action code -> a label and the keys that play it.",
                 "# Key names as pygame spells them: left, right, up, down, space, a..z, 0..9, f1..f12, left shift..."]
        for b in self.bindings:
            keys = ", ".join(_toml_string(k) for k in b.keys)
            lines += ["", "[[action]]"] + ([f"# {b.note}"] if b.note else []) + [f"code = {b.code}", f"label = {_toml_string(b.label)}", f"keys = [{keys}]"]
        return "\n".join(lines) + "\n"


# Keys a proposed keymap gives to each true action of the built-in world (arrows + space first).
ACTION_KEYS = {"left": ("left", "a"), "right": ("right", "d"), "jump": ("up", "w", "space"), "down": ("down", "s"),
               "jump_left": ("q",), "jump_right": ("e",), "idle": ("z",), "run_right": ("x",)}


def propose_keymap(counts: list[list[int]], actions: list[str]) -> Keymap:
    """A keymap from the evaluation's table: counts[c][a] = transitions of true action a the LAM gave code c.

    Each action goes to the code that holds the largest part of its transitions, the clearest pairs
    first, one action per code, and only where the action is at least a quarter of that code's
    transitions (so the label is fair to the code). Matching by the action's part, not the code's
    top action, matters when a LAM mixes two actions: with left and jump left both mostly "jump
    left" codes, the code holding most of the left transitions still gets the left keys. Codes left
    over get the digit key c+1 and a label saying what they most often are ("(also)") or "unused".
    """
    pairs = []
    for a in range(len(actions)):
        total = sum(row[a] for row in counts)
        pairs += [(row[a] / total, c, a) for c, row in enumerate(counts) if row[a] and row[a] >= 0.25 * sum(row)]
    action_of: dict[int, int] = {}
    for _, c, a in sorted(pairs, reverse=True):
        if c not in action_of and a not in action_of.values():
            action_of[c] = a
    bindings = []
    for c, row in enumerate(counts):
        if c in action_of:
            name = actions[action_of[c]]
            bindings.append(Binding(c, name.replace("_", " "), ACTION_KEYS.get(name, (str(c + 1),))))
        elif sum(row) == 0:
            bindings.append(Binding(c, f"code {c} (unused)", (str(c + 1),)))
        else:
            most = actions[max(range(len(row)), key=row.__getitem__)]
            bindings.append(Binding(c, f"{most.replace('_', ' ')} (also)", (str(c + 1),)))
    return Keymap(tuple(bindings), "proposed from the evaluation")


def with_jump_on(keymap: Keymap, code: int, why: str) -> Keymap:
    """`keymap` with the jump keys and label moved to `code` (which keeps its own keys too); the
    code that had them becomes "<its label> (also)" on its digit key."""
    jump_keys = ACTION_KEYS["jump"]
    old = next((b.code for b in keymap.bindings if b.label == "jump"), None)
    if old == code:
        return keymap
    out = []
    for b in keymap.bindings:
        keys = tuple(k for k in b.keys if k not in jump_keys)
        if b.code == code:
            b = Binding(code, "jump", jump_keys + keys, why)
        elif b.code == old:
            b = Binding(old, "jump (also)", keys or (str(old + 1),))
        else:
            b = dataclasses.replace(b, keys=keys)
        out.append(b)
    return Keymap(tuple(out), keymap.source)


def _toml_string(text: str) -> str:
    """One TOML string literal, quoted and escaped by tomli-w."""
    import tomli_w

    return tomli_w.dumps({"s": text}).split("=", 1)[1].strip()


def _label_form(text: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", text.lower()).split())


def _check_key(key: str, where: str) -> None:
    if key not in KEY_NAMES:
        hint = difflib.get_close_matches(key, sorted(KEY_NAMES), n=1)
        raise GenieError(f"{where}: unknown key name '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    if key in RESERVED:
        raise GenieError(f"{where}: key '{key}' is reserved for the app ({RESERVED[key]}); choose another key")


def _check_label(label, code: int, where: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise GenieError(f"{where}: code {code} needs a non-empty text label")
    label = " ".join(label.split())
    if len(label) > MAX_LABEL:
        raise GenieError(f"{where}: label '{label}' of code {code} is longer than {MAX_LABEL} characters")
    return label


def parse_keymap(text: str, source: str, num_actions: int = NUM_ACTIONS) -> Keymap:
    """Parse and validate keymap TOML; every problem is a one-line GenieError naming `source`."""
    tomllib = _tomllib()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise GenieError(f"{source}: not valid TOML ({e})") from None
    unknown = sorted(set(data) - {"action", "version"})
    if unknown:
        raise GenieError(f"{source}: unknown setting '{unknown[0]}' (a keymap has only [[action]] tables)")
    actions = data.get("action", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise GenieError(f"{source}: 'action' must be [[action]] tables")
    if not actions:  # an emptied file would silently unbind every key
        raise GenieError(f"{source}: no [[action]] tables: the keymap is empty and would bind no keys")
    labels: dict[int, str] = {}
    keys: dict[int, tuple[str, ...]] = {}
    owner: dict[str, int] = {}
    for i, entry in enumerate(actions, 1):
        where = f"{source}: action #{i}"
        extra = sorted(set(entry) - {"code", "label", "keys"})
        if extra:
            raise GenieError(f"{where}: unknown field '{extra[0]}' (fields: code, label, keys)")
        code = entry.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise GenieError(f"{where}: 'code' must be a whole number 0..{num_actions - 1}")
        if not 0 <= code < num_actions:
            raise GenieError(f"{where}: code {code} is out of range 0..{num_actions - 1}")
        if code in labels:
            raise GenieError(f"{where}: code {code} appears twice")
        labels[code] = _check_label(entry.get("label", f"code {code}"), code, where)
        raw = entry.get("keys", [])
        raw = [raw] if isinstance(raw, str) else raw
        if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
            raise GenieError(f"{where}: 'keys' must be a list of key names, e.g. [\"left\", \"a\"]")
        names = []
        for k in raw:
            k = normalize_key(k)
            _check_key(k, f"{source}: code {code}")
            if k in owner:
                raise GenieError(f"{source}: key '{k}' is bound twice (codes {owner[k]} and {code})")
            owner[k] = code
            names.append(k)
        keys[code] = tuple(names)
    bindings = tuple(Binding(c, labels.get(c, f"code {c}"), keys.get(c, ())) for c in range(num_actions))
    return Keymap(bindings, source)


def load_keymap(path: str | Path, num_actions: int = NUM_ACTIONS) -> Keymap:
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise file_error(path, "is a directory, not a keymap file")
        if size > MAX_KEYMAP_BYTES:
            raise file_error(path, f"keymap is {size:,} bytes, over the {MAX_KEYMAP_BYTES:,}-byte limit")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise file_error(path, "no such keymap file") from None
    except UnicodeDecodeError:
        raise file_error(path, "cannot read keymap (not UTF-8 text)") from None
    except OSError as e:
        raise file_error(path, f"cannot read keymap ({e.strerror or e})") from None
    return parse_keymap(text, str(path), num_actions)


def save_keymap(keymap: Keymap, path: str | Path) -> Path:
    """Write atomically, so a crash mid-save never leaves a half keymap that fails to load next time."""
    from genie_play.io import write_text

    write_text(path, keymap.to_toml())
    return Path(path)


def user_keymap_path() -> Path:
    """Where remap saves: the user's config folder (e.g. ~/.config/genie_play/keymap.toml)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("genie_play", appauthor=False)) / KEYMAP_FILE


def resolve_keymap(explicit: str | Path | None, user_path: Path | None, shipped: Path,
                   num_actions: int = NUM_ACTIONS) -> tuple[Keymap, str | None]:
    """The keymap to play with, and a warning when the saved map is broken and was skipped.

    An explicit --keymap that fails is an error (the user asked for it); a broken saved map falls
    back to the shipped one with a visible warning, so a bad save never locks anyone out.
    """
    if explicit is not None:
        return load_keymap(explicit, num_actions), None
    warning = None
    if user_path is not None and user_path.exists():
        try:
            return load_keymap(user_path, num_actions), None
        except GenieError as e:
            warning = f"saved keymap ignored: {e}"
    if shipped.exists():
        return load_keymap(shipped, num_actions), warning
    fallback = Keymap(tuple(Binding(c, f"code {c}") for c in range(num_actions)), "no keymap found")
    return fallback, warning or f"{shipped}: no keymap; every code is unbound (press M to remap)"


def _tomllib():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 has no tomllib; tomli is the same parser
        import tomli as tomllib
    return tomllib


def weights_keymap(weights: Path) -> Path:
    """The keymap that belongs to the weights (their folder's keymap.toml), else the shipped one."""
    return weights / KEYMAP_FILE if (weights / KEYMAP_FILE).is_file() else models_dir() / KEYMAP_FILE
