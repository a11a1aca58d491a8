"""Transports (views, API routers, tasks, management commands) read patient data only
through access_* functions, which ask the permission table and write the audit trail.

The test parses every transport module with ``ast`` and fails on a direct query of a
patient-data model: ``Model.objects``, ``Model._default_manager``, ``Model._base_manager``
or ``get_object_or_404(Model, ...)``. A patient-data model is any model with a chain of
foreign keys leading to Patient (computed from Django's _meta, so a new model is covered
the day it is added), plus the audit trail, which names patients. Reference data
(locations, services, codes, payers, providers, templates) is not patient data.
"""

import ast
import importlib
import inspect
import pathlib

import pytest
from django.apps import apps

from effleura.core.models import AuditEvent
from effleura.patients.models import Patient

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "effleura"
PATIENT_APPS = ("patients", "scheduling", "clinical", "referrals", "billing")
MANAGERS = {"objects", "_default_manager", "_base_manager"}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}
# The demo app writes invented records; it is never a way to read a real patient's.
NOT_TRANSPORTS = {"demo"}


def _leads_to_patient(model, seen: frozenset = frozenset()) -> bool:
    if model is Patient:
        return True
    targets = {
        field.related_model
        for field in model._meta.get_fields()
        if field.concrete and (field.many_to_one or field.one_to_one) and field.related_model not in (None, *seen)
    }
    return any(_leads_to_patient(target, seen | {model}) for target in targets)


def patient_data_models() -> set:
    found = {m for app in PATIENT_APPS for m in apps.get_app_config(app).get_models() if _leads_to_patient(m)}
    return found | {AuditEvent}


def transport_modules() -> list[pathlib.Path]:
    patterns = ["*/views*.py", "*/views/*.py", "*/api*.py", "*/tasks.py", "*/management/commands/*.py"]
    found = {p for pattern in patterns for p in SRC.glob(pattern) if p.relative_to(SRC).parts[0] not in NOT_TRANSPORTS}
    return sorted(found)


def _model_names(tree: ast.Module, models: set) -> dict[str, object]:
    """Names the module binds to a patient-data model (``from x.models import M``) or to one
    of the project's modules (``from effleura.clinical import notes``, then ``notes.M``)."""
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("effleura"):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            target = getattr(module, alias.name, None)
            if inspect.ismodule(target) or (isinstance(target, type) and target in models):
                names[alias.asname or alias.name] = target
    return names


def _is_model(node: ast.AST, names: dict, models: set) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names and not inspect.ismodule(names[node.id])
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        module = names.get(node.value.id)
        target = getattr(module, node.attr, None) if inspect.ismodule(module) else None
        return isinstance(target, type) and target in models
    return False


def direct_queries(path: pathlib.Path, models: set, *, root: pathlib.Path = SRC.parent) -> list[str]:
    """Each direct query in the module at ``path``, as "module:line: code", in line order."""
    tree = ast.parse(path.read_text(), str(path))
    names = _model_names(tree, models)
    where = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS and _is_model(node.value, names, models):
            found.append((node.lineno, f"{where}:{node.lineno}: {ast.unparse(node)}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in SHORTCUTS
            and node.args
            and _is_model(node.args[0], names, models)
        ):
            found.append((node.lineno, f"{where}:{node.lineno}: {node.func.id}({ast.unparse(node.args[0])}, ...)"))
    return [text for _line, text in sorted(found)]


def test_the_patient_data_models_are_found_from_their_foreign_keys():
    names = {m.__name__ for m in patient_data_models()}
    assert {"Patient", "Appointment", "Series", "WaitlistEntry", "SessionNote", "Referral", "Charge"} <= names
    assert not names & {"Location", "Service", "ProcedureCode", "Payer", "ReferringProvider", "NoteTemplate"}


def test_the_walk_covers_every_kind_of_transport():
    kinds = {p.name if p.parent.name != "commands" else "command" for p in transport_modules()}
    assert {"views.py", "tasks.py", "command", "api_accounts.py", "accounts.py"} <= kinds


@pytest.mark.parametrize("path", transport_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_transport_reads_patient_data_only_through_access_functions(path):
    found = direct_queries(path, patient_data_models())
    assert not found, "Query through an access_* function instead:\n" + "\n".join(found)


def test_the_walk_catches_a_direct_query(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "from django.shortcuts import get_object_or_404\n"
        "from effleura.billing import models\n"
        "from effleura.clinical.models import SessionNote as Note\n"
        "from effleura.scheduling.models import Location\n"
        "def view(request, pk):\n"
        "    Location.objects.all()\n"
        "    note = Note.objects.filter(pk=pk)\n"
        "    get_object_or_404(models.Charge, pk=pk)\n"
        "    return Note._default_manager.get(pk=pk)\n"
    )
    found = direct_queries(module, patient_data_models(), root=tmp_path)
    assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in found] == ["7", "8", "9"]
