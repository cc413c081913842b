"""The package's imports point one way: no circles, `world` knows nothing of training, data,
evaluation, benchmarks, the app or the environments, `eval` knows no window, and only the app
(and the benchmark that drives its window) imports pygame."""

import ast
from pathlib import Path

import genie_play

PACKAGE = Path(genie_play.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every module of the package -> the modules (package ones and third-party ones) it imports;
    `from package import submodule` counts as importing the submodule only."""
    paths = list(PACKAGE.rglob("*.py"))
    known = {_module(p) for p in paths}
    graph = {}
    for path in paths:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                submodules = {f"{node.module}.{a.name}" for a in node.names} & known
                names.update(submodules)
                if len(submodules) < len(node.names):
                    names.add(node.module)
        graph[_module(path)] = {n for n in names if n in known or not n.startswith("genie_play")}
    return graph


def _area(module: str) -> str:
    """genie_play.world.lam -> world; top-level modules are their own area."""
    return module.split(".")[1] if module.count(".") >= 1 else module


def test_no_import_circles():
    graph = {m: {n for n in names if n.startswith("genie_play")} for m, names in _imports().items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module, path):
        state[module] = 1
        for other in graph.get(module, ()):
            if state.get(other) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(other):] + [other]))
            if other in graph and other not in state:
                visit(other, path + [other])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_the_arrows_point_one_way():
    forbidden = {
        "world": {"train", "data", "eval", "bench", "app", "env", "cli"},
        "data": {"world", "train", "eval", "bench", "app", "env", "cli"},
        "eval": {"app", "bench", "env", "train", "cli"},
        "train": {"eval", "bench", "app", "env", "cli"},
        "env": {"app", "bench", "train", "cli"},
        "app": {"train", "bench", "env", "cli"},
    }
    wrong = []
    for module, names in _imports().items():
        for name in names:
            if name.startswith("genie_play.") and _area(name) in forbidden.get(_area(module), ()):
                wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_only_the_app_and_its_window_benchmark_import_pygame():
    users = {m for m, names in _imports().items() if any(n == "pygame" or n.startswith("pygame.") for n in names)}
    assert users and all(_area(m) == "app" or m == "genie_play.bench.window" for m in users), users
