"""The audit trail in plain words: what each entry's action on each kind of record means to
the owner reading it ("viewed the chart", "printed the superbill", "tried to change an
appointment"). The entries keep their codes (action, record type, the permission key in
the detail); this only says them.

Every permission rule's action and record type has a phrase here (tests/core/
test_audit_readable.py checks it); an unknown pair, which a future app could write before
its phrase exists, still reads as "<verb> <record type in words>", never as a code."""

from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.permissions import RULES

# What an owner filters by: the action in words (the stored codes stay as they are).
ACTION_LABELS = {
    AuditAction.READ: "Viewed",
    AuditAction.CREATE: "Created or recorded",
    AuditAction.UPDATE: "Changed",
    AuditAction.DELETE: "Deleted",
    AuditAction.PRINT: "Printed",
    AuditAction.EXPORT: "Exported or sent",
    AuditAction.LOGIN: "Signed in",
    AuditAction.LOGOUT: "Signed out",
    AuditAction.LOCKOUT: "Locked out",
    AuditAction.UNLOCK: "Unlocked",
}

ROLE_LABELS = dict(Role.choices)

# (action, record type) -> what was done, as an infinitive ("view the chart"): the page says
# it in the past ("viewed the chart"), a refusal as an attempt ("tried to view the chart").
PHRASES: dict[tuple[str, str], str] = {
    ("read", "patient"): "view the patient's details",
    ("create", "patient"): "register a patient",
    ("update", "patient"): "change the patient's details",
    ("create", "break_glass"): "open a chart outside their care team (emergency access)",
    ("read", "health_history"): "view the health history",
    ("create", "health_history"): "record a health history",
    ("read", "consent"): "view the consents",
    ("create", "consent"): "record a consent",
    ("update", "consent"): "withdraw a consent",
    ("read", "clinical_record"): "view the chart",
    ("update", "clinical_record"): "write in the chart",
    ("print", "clinical_record"): "print from the chart",
    ("read", "knowledge_base"): "look up the treatment guidance",
    ("read", "referring_provider"): "view a referring provider",
    ("update", "referring_provider"): "change a referring provider",
    ("read", "referral"): "view a referral",
    ("update", "referral"): "change a referral",
    ("read", "report"): "view a report to the provider",
    ("update", "report"): "write a report to the provider",
    ("print", "report"): "print a report to the provider",
    ("export", "report"): "send a report to the provider",
    ("read", "appointment"): "view the schedule",
    ("create", "appointment"): "book an appointment",
    ("update", "appointment"): "change an appointment",
    ("read", "waitlist_entry"): "view the waitlist",
    ("update", "waitlist_entry"): "change the waitlist",
    ("read", "scheduling_setup"): "view the scheduling set-up",
    ("update", "scheduling_setup"): "change the scheduling set-up",
    ("update", "scheduling_policy"): "change the booking rules",
    ("read", "calendar_feed"): "read a calendar feed",
    ("create", "calendar_feed"): "create a calendar feed",
    ("update", "calendar_feed"): "change a calendar feed",
    ("read", "billing_setup"): "view the billing set-up",
    ("update", "billing_setup"): "change the billing set-up",
    ("read", "billing"): "view the billing desk",
    ("update", "billing"): "change billing records",
    ("read", "charge"): "view the charges",
    ("update", "charge"): "adjust a charge",
    ("read", "patient_account"): "view the patient's account",
    ("create", "payment"): "take a payment",
    ("update", "payment"): "void a payment",
    ("update", "policy"): "change an insurance policy",
    ("print", "superbill"): "print the superbill",
    ("create", "invoice"): "create an invoice",
    ("print", "invoice"): "print an invoice",
    ("read", "claim"): "view a claim",
    ("update", "claim"): "change a claim",
    ("export", "claim"): "export a claim",
    ("read", "billing_report"): "view a billing report",
    ("export", "billing_report"): "export a billing report",
    ("read", "production_report"): "view the production report",
    ("read", "consent_document"): "view the consent forms",
    ("create", "consent_document"): "create a consent form",
    ("update", "consent_document"): "change a consent form",
    ("update", "user"): "change a staff account",
    ("update", "practice"): "change the practice settings",
    ("read", "audit_event"): "view the audit trail",
    ("export", "audit_event"): "export the audit trail",
    ("read", "account"): "use their account",
    ("create", "api_token"): "create an API token",
    ("update", "api_token"): "revoke an API token",
    ("update", "password"): "change a password",
    ("update", "password_reset"): "reset a password",
    ("export", "backup"): "make a backup",
    ("update", "restore"): "restore a backup",
    ("login", "session"): "sign in",
    ("logout", "session"): "sign out",
    ("login", "api_token"): "use an API token",
    ("lockout", "account"): "lock an account after failed sign-ins",
    ("lockout", "client_address"): "lock an address after failed sign-ins",
    ("unlock", "account"): "unlock an account",
    ("unlock", "client_address"): "unlock an address",
}

# Each phrase's first word in the past. A verb missing here is a test failure, not a
# guess at English.
PAST = {
    "view": "viewed", "register": "registered", "change": "changed", "open": "opened",
    "record": "recorded", "withdraw": "withdrew", "write": "wrote", "print": "printed",
    "look": "looked", "send": "sent", "book": "booked", "read": "read", "create": "created",
    "adjust": "adjusted", "take": "took", "void": "voided", "export": "exported", "use": "used",
    "revoke": "revoked", "reset": "reset", "make": "made", "restore": "restored",
    "sign": "signed", "lock": "locked", "unlock": "unlocked", "delete": "deleted",
}  # fmt: skip

_VERBS = {
    AuditAction.READ: "view",
    AuditAction.CREATE: "create",
    AuditAction.UPDATE: "change",
    AuditAction.DELETE: "delete",
    AuditAction.PRINT: "print",
    AuditAction.EXPORT: "export",
    AuditAction.LOGIN: "sign in to",
    AuditAction.LOGOUT: "sign out of",
    AuditAction.LOCKOUT: "lock",
    AuditAction.UNLOCK: "unlock",
}


def phrase(action: str, record_type: str) -> str:
    """What an entry's action on its record type is, as an infinitive ("view the chart")."""
    known = PHRASES.get((action, record_type))
    if known is not None:
        return known
    return f"{_VERBS.get(action, action)} {record_type.replace('_', ' ')}".strip()


def describe(action: str, record_type: str, outcome: str) -> str:
    """The entry in words: "viewed the chart", or for a refusal "tried to view the chart"."""
    infinitive = phrase(action, record_type)
    # A lock-out is recorded as a refusal, but it is Effleura's own act, not an attempt.
    if outcome == AuditOutcome.DENIED and action != AuditAction.LOCKOUT:
        return f"tried to {infinitive}"
    return _past(infinitive)


def _past(infinitive: str) -> str:
    verb, _, rest = infinitive.partition(" ")
    return f"{PAST.get(verb, verb)} {rest}".strip()


def extra_detail(detail: str) -> str:
    """The part of an entry's detail worth showing beside its phrase: not the permission
    key every use of a page records ("clinical.view", "GET charge.view"), which the phrase
    already says, but what a person wrote there ("search result", "until 2026-…")."""
    method, _, key = detail.partition(" ")
    if detail in RULES or (method.isupper() and (key in RULES or key == "unlisted URL")):
        return ""
    return detail


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role.replace("_", " "))
