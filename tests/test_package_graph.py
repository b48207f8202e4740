"""The package graph has no cycle and no upward arrow (ARCHITECTURE.md draws it).

Every import between latentlab's parts counts, at the top of a module or inside a
function: a function-level import is still an arrow, only a later one.
"""

import ast
import pathlib

import latentlab

ROOT = pathlib.Path(latentlab.__file__).parent

# Bottom to top. A part may import its own layer's modules only if they are in the base
# (plain helpers); above the base, arrows point strictly down.
LAYERS = [
    {"errors", "_io", "_validation", "_convert", "_config", "_device", "_distributed", "_progress", "_threads", "_images",
     "checkpoint"},
    {"data", "id", "codes"},
    {"models"},
    {"adapters"},
    {"loading"},
    {"training"},
    {"metrics"},
    {"analysis"},
    {"plots"},
    {"report"},
    {"cli"},
    {"__main__"},
]
LEVEL = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _arrows():
    """(importing part, imported part, file:line) for every import between two parts."""
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        here = _part(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] if node.module != "latentlab" else [f"latentlab.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("latentlab.") and _part(target) in LEVEL and _part(target) != here:
                    yield here, _part(target), f"{rel}.py:{node.lineno}"


def test_every_part_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem != "__init__"}
    parts.discard("pretrained_configs")  # TOML files, imports nothing
    assert parts <= set(LEVEL), f"parts without a layer in this test and ARCHITECTURE.md: {sorted(parts - set(LEVEL))}"


def test_no_upward_or_sideways_arrow():
    bad = [f"{where}: {src} -> {dst}" for src, dst, where in _arrows()
           if src in LEVEL and LEVEL[dst] >= LEVEL[src] and LEVEL[src] > 0]
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_base_modules_form_no_cycle():
    edges = {}
    for src, dst, _ in _arrows():
        if LEVEL.get(src) == 0 and LEVEL[dst] == 0:
            edges.setdefault(src, set()).add(dst)
        elif LEVEL.get(src) == 0:
            raise AssertionError(f"base module {src} imports {dst}, which sits above it")

    def reaches(a, b, seen=()):
        return any(n == b or (n not in seen and reaches(n, b, (*seen, n))) for n in edges.get(a, ()))

    assert not [a for a in edges if reaches(a, a)]
