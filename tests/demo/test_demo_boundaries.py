"""The demo app is last in the dependency chain (docs/decisions/0006): it imports every
app, and no app imports it."""

import ast
from pathlib import Path

import effleura

SRC = Path(effleura.__file__).resolve().parent
DEMO = SRC / "demo"
BENCH = SRC / "bench"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_module_outside_the_demo_app_imports_it():
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if DEMO not in path.parents
        and BENCH not in path.parents  # the benchmarks measure the demo's large practice
        and any(name == "effleura.demo" or name.startswith("effleura.demo.") for name in _imported_modules(path))
    ]
    assert offenders == []


def test_no_app_keeps_demo_code_of_its_own():
    assert sorted(str(p.relative_to(SRC)) for p in SRC.glob("*/demo.py")) == []
