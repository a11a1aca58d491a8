"""Every check_* and do_* function states what it checks, or what it needs and does, in a
docstring (issue 10: the action layer holds the whole rule, and says so)."""

import ast
import pathlib

import effleura

SOURCE = pathlib.Path(effleura.__file__).parent

# Written before the rule; each gets its docstring with its module's next change, and
# leaves this list then (the second test fails on an entry that has one). Never add to it.
KNOWN_UNDOCUMENTED = {
    "billing/ledger.py": {"check_void_invoice", "do_take_payment", "do_refund"},
    "billing/packages.py": {"do_cancel_package"},
    "billing/policies.py": {"do_set_policy_active"},
    "billing/setup.py": {
        "do_save_code",
        "do_set_code_active",
        "do_save_payer",
        "do_save_fee",
        "do_delete_fee",
        "do_save_plan",
    },
    "clinical/assessments.py": {"do_update_assessment", "do_sign_assessment"},
    "clinical/note_rules.py": {"check_total"},
    "clinical/notes.py": {
        "do_update_note",
        "check_discard_draft",
        "do_sign_note",
        "do_add_addendum",
        "do_save_template",
    },
    "clinical/plans.py": {"do_update_goal"},
    "core/actions.py": {"do_revoke_api_token", "check_save_staff", "check_save_practice"},
    "patients/actions.py": {
        "check_create_patient",
        "check_update_patient",
        "do_update_patient",
        "check_add_health_history",
        "check_capture_consent",
        "do_capture_consent",
        "check_withdraw_consent",
        "do_withdraw_consent",
        "check_save_consent_document",
        "do_create_consent_document",
        "do_set_consent_document_active",
    },
    "referrals/providers.py": {"check_set_provider_active"},
    "referrals/referral_actions.py": {"check_remove_original", "do_remove_original", "check_close_referral"},
    "referrals/reports.py": {"do_update_report", "check_sign_report", "do_sign_report"},
    "scheduling/feed.py": {"check_create_feed", "do_revoke_feed"},
    "scheduling/hours.py": {
        "check_save_working_hours",
        "check_delete_working_hours",
        "do_delete_working_hours",
        "check_delete_exception",
        "do_delete_exception",
        "check_save_time_off",
        "check_delete_time_off",
        "do_delete_time_off",
    },
    "scheduling/setup.py": {
        "do_save_location",
        "do_delete_location",
        "check_save_room",
        "do_save_room",
        "check_delete_room",
        "do_delete_room",
        "check_save_service",
        "do_save_service",
        "check_delete_service",
        "do_delete_service",
        "check_save_policy",
        "do_save_policy",
    },
    "scheduling/waitlist.py": {"check_remove_waitlist_entry"},
}


def actions_in_source() -> dict[str, dict[str, bool]]:
    """module path -> {check_*/do_* function name: has a docstring}, for every module-level
    function of the package (migrations left out)."""
    found: dict[str, dict[str, bool]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith(("check_", "do_")):
                module = path.relative_to(SOURCE).as_posix()
                found.setdefault(module, {})[node.name] = bool(ast.get_docstring(node))
    return found


def test_every_new_check_and_do_function_has_a_docstring():
    missing = [
        f"{module}: {name}"
        for module, functions in actions_in_source().items()
        for name, documented in functions.items()
        if not documented and name not in KNOWN_UNDOCUMENTED.get(module, set())
    ]
    assert missing == [], "Say what each checks, or what it needs and does, in a docstring."


def test_the_list_of_undocumented_actions_only_shrinks():
    found = actions_in_source()
    stale = [
        f"{module}: {name}"
        for module, names in KNOWN_UNDOCUMENTED.items()
        for name in names
        if found.get(module, {}).get(name, True)  # documented, moved or gone
    ]
    assert stale == [], "These have a docstring now (or moved): take them off KNOWN_UNDOCUMENTED."


def test_the_walk_finds_the_actions():
    found = actions_in_source()
    assert {"check_book", "do_book", "check_reschedule", "do_reschedule"} <= set(found["scheduling/booking_actions.py"])
    assert sum(len(functions) for functions in found.values()) > 100
