"""The house's rules, checked on the source: layers import only the ones before them, there is no import
circle, and the tools on top (cli, bench, experiments, benchmarks) use no private name of the core."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "inrzip"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# package-relative first component -> layer; a module may import its own layer and the ones below
LAYERS = {
    "errors": 0, "interrupts": 0, "registry": 0, "limits": 0, "config": 0, "metrics": 0, "version": 0, "presets": 0, "jsontext": 0,
    "nets": 1, "signals": 2, "quant": 3, "bitstream": 4, "fit": 5, "ratecontrol": 5, "finetune": 5, "records": 5, "api": 6,
    "cli": 7, "bench": 7, "experiments": 7, "demo": 7, "__init__": 8,
}
TOOLS = ("cli", "bench", "experiments", "demo")


def _module_name(path: Path) -> str:
    if not path.is_relative_to(SRC):
        return f"benchmarks.{path.stem}"
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text())
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [a.name for a in node.names]
            if node.module:
                out.append((mod, names))
            if not node.module or node.level:  # "from . import x": x may be a module
                out += [(f"{mod}.{n}", []) for n in names]
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return [(m, n) for m, n in out if m == "inrzip" or m.startswith("inrzip.")]


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for target, _ in _imports(path):
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]  # a name inside a module
            if target in modules and target != mod:
                graph[mod].add(target)
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def test_every_module_has_a_layer():
    for mod in _graph():
        assert len(mod.split(".")) == 1 or mod.split(".")[1] in LAYERS, f"{mod}: add its folder to LAYERS"


def test_no_import_circle():
    graph, state, stack = _graph(), {}, []

    def visit(m: str) -> None:
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_layers_import_only_the_ones_before_them():
    bad = [f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
           for m, targets in _graph().items() for t in targets
           if _layer(t) > _layer(m) and not t.startswith(m + ".")]
    assert not bad, "\n".join(bad)


def _tool_files() -> list[Path]:
    files = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0].removesuffix(".py") in TOOLS]
    return files + sorted(BENCHMARKS.glob("*.py"))


def test_tools_use_no_private_name_of_the_core():
    bad = []
    for path in _tool_files():
        own = ".".join(_module_name(path).split(".")[:2]) if path.is_relative_to(SRC) else None
        own = None if own == "inrzip.demo" else own
        for mod, names in _imports(path):
            if own and mod.startswith(own):
                continue  # a tool's own private helpers
            bad += [f"{path.name}: {mod}.{n}" for n in names if n.startswith("_") and not n.endswith("__")]
            bad += [f"{path.name}: {mod}" for part in mod.split(".") if part.startswith("_") and not part.endswith("__")]
        text = path.read_text()
        bad += [f"{path.name}: {m}" for m in re.findall(r"\binrzip(?:\.\w+)*\._[a-z]\w*", text)]
    assert not bad, "\n".join(bad)
