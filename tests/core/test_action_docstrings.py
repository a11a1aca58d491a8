"""Every check_*() and do_*() says what it needs before it is called.

The action layer is the one way to write (ARCHITECTURE.md: check_* validates and
authorizes, do_* writes inside a transaction and audits). A caller must be able to read,
at the function, what it has to hold first: a plan from check_*, a row lock, a role.
This walks the source, so a new action without one fails here, naming it.
"""

import ast
from pathlib import Path

import effleura

SOURCE = Path(effleura.__file__).parent


def _actions():
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(("check_", "do_")):
                yield path.relative_to(SOURCE), node


def test_it_finds_the_actions():
    names = {node.name for _, node in _actions()}
    assert {"check_book", "do_book", "check_sign_note", "do_sign_note"} <= names


def test_every_check_and_do_has_a_docstring_stating_its_preconditions():
    missing = [f"{path}:{node.lineno} {node.name}()" for path, node in _actions() if not ast.get_docstring(node)]
    assert not missing, "check_*/do_* without a docstring:\n" + "\n".join(missing)


def test_docstrings_say_more_than_the_name():
    # "Save the room." says nothing a reader of do_save_room() did not know.
    thin = [
        f"{path}:{node.lineno} {node.name}()"
        for path, node in _actions()
        if (doc := ast.get_docstring(node)) and len(doc.split()) < 6
    ]
    assert not thin, "check_*/do_* docstrings too short to state a precondition:\n" + "\n".join(thin)
