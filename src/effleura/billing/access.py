"""Reading billing records: the shared steps. Each area's access_* functions (in its own
module) ask the permission table through these and write the audit event; every list is
a bounded number of queries whatever its length.

"Own only": a therapist holds "charge.view" and "production.view" but not "billing.view";
they see the charges and production of their own visits only. ``sees_everyones`` asks the
table (never the role) which case applies.
"""

from effleura.core.permissions import has_permission

# Re-exported until ledger.py, packages.py and setup.py import it from core.values.
from effleura.core.values import as_uuid  # noqa: F401


def sees_everyones(user) -> bool:
    """Whether ``user`` sees every practitioner's charges and production, not just their own."""
    return has_permission(user, "billing.view")
