"""``field__ids_in=[…]``: ``__in`` for a long list of integer ids (decision 0034).

A calendar day asks for the referrals, consents and visits of its 400 patients by id.
Django writes ``patient_id IN (%s, %s, … 400 times)``: each id is prepared by the field,
then quoted by psycopg, and PostgreSQL parses 400 constants; measured, 4.9 ms for the day's
referral query against 2.0 ms with the ids as one array. On PostgreSQL this lookup writes
``patient_id = ANY(%s::bigint[])`` with the array as one literal string
(``'{1,2,3}'``); elsewhere (SQLite) it is Django's ``IN``. The rows are the same: an
empty list matches nothing without a query, as ``__in`` does.

Registered on foreign keys and integer fields in core/apps.py.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models.lookups import In


class IdsIn(In):
    lookup_name = "ids_in"

    def get_prep_lookup(self):
        if not self.rhs_is_direct_value():
            return super().get_prep_lookup()
        return [int(getattr(value, "pk", value)) for value in self.rhs if value is not None]

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        ids = sorted(set(self.rhs))
        if not ids:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, "{" + ",".join(map(str, ids)) + "}"]
