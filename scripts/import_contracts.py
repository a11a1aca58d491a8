"""Import-linter contract types of our own, for the house rules its built-in types cannot
state (see pyproject.toml [tool.importlinter] and docs/architecture.md).

``app_boundaries``: an app may use another app only through that app's public modules.
It never imports another app's ``views`` (module or package) or API routers (``api.py``,
``api_*.py``: only the api app mounts them), and never a private name:
neither a module whose name starts with ``_`` nor a name starting with ``_`` taken from
another app's module. import-linter's graph knows modules, not names, so the names are
read from each module's source with ``ast``.
"""

import ast
import importlib.util
from pathlib import Path

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _owner(module: str, apps: list[str]) -> str | None:
    return next((app for app in apps if module == app or module.startswith(app + ".")), None)


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _forbidden_module(module: str, app: str, importer_app: str) -> str | None:
    """Why importing ``module`` (inside ``app``) from ``importer_app`` breaks the boundary."""
    parts = module[len(app) + 1 :].split(".") if module != app else []
    if "views" in parts:
        return "another app's views"
    # The API routers are transports like the views; only the api app mounts them.
    # (core has none: its api_schemas is part of the shared kit.)
    routers = app != "effleura.core" and importer_app != "effleura.api"
    if routers and any(part == "api" or part.startswith("api_") for part in parts):
        return "another app's API router"
    if any(_is_private(part) for part in parts):
        return "another app's private module"
    return None


def _source(module: str) -> Path | None:
    """The file of ``module``, found without importing it (an app's models package would
    need Django's settings)."""
    root, *rest = module.split(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str):
    """(line, imported module, names) for every absolute import in ``module``'s source."""
    path = _source(module)
    if path is None:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


class AppBoundariesContract(Contract):
    type_name = "app_boundaries"

    apps = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        apps = sorted(self.apps, key=len, reverse=True)  # type: ignore[arg-type]
        breaches = []
        for app in apps:
            for module in sorted(graph.find_descendants(app) | {app}):
                for line, imported, names in _imports(module):
                    other = _owner(imported, apps)
                    if other is None or other == app:
                        continue
                    why = _forbidden_module(imported, other, app)
                    if why is None:
                        # ``from effleura.x import views`` names a module too.
                        why = next((_forbidden_module(f"{imported}.{n}", other, app) for n in names), None)
                    if why is None and any(_is_private(name) for name in names):
                        why = "a private name of another app"
                    if why is not None:
                        breaches.append(f"{module}:{line} imports {why}: {imported} {', '.join(names)}".rstrip())
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for breach in check.metadata["breaches"]:
            output.print_error(f"- {breach}")
            output.new_line()
