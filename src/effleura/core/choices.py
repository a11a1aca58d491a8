from django.db import models


class Role(models.TextChoices):
    """What a member of staff does; the permission table is keyed by it."""

    OWNER = "owner", "Owner"
    THERAPIST = "therapist", "Therapist"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    PRINT = "print", "Print"
    EXPORT = "export", "Export"
    LOGIN = "login", "Log in"
    LOGOUT = "logout", "Log out"
    LOCKOUT = "lockout", "Lock out"
    UNLOCK = "unlock", "Unlock"


class AuditOutcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
