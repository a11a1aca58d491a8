"""The demo clinic's referring providers and referrals, one in every state.

Called once from effleura/demo/data.py after load_clinical_demo(...). Everything is
synthetic: obviously fake names, 555 numbers, NPIs that pass the check digit but name
nobody. Made through the real actions (referrals/providers.py, referral_actions.py),
so the audit trail reads like a clinic's. The providers are data: demo/referrals.yaml.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from effleura.clinical.models import Episode
from effleura.core.npi import check_digit
from effleura.referrals import providers as provider_actions
from effleura.referrals import referral_actions
from effleura.referrals.models import Referral, ReferringProvider
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment


def _npi(first_nine: str) -> str:
    return first_nine + str(check_digit(first_nine))


# The referring providers: demo/referrals.yaml, which gives the first nine digits of each NPI.
with open(Path(__file__).with_name("referrals.yaml"), encoding="utf-8") as _file:
    PROVIDERS = [{**provider, "npi": _npi(provider["npi"])} for provider in yaml.safe_load(_file)["providers"]]


@dataclass
class ReferralsDemo:
    created: bool
    providers: int
    referrals: int


def synthetic_scan_pdf() -> bytes:
    """A tiny valid one-page PDF saying it is a synthetic demo referral."""
    text = b"BT /F1 18 Tf 72 720 Td (SYNTHETIC DEMO REFERRAL - not a real document) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _completed(patient, valid_from: datetime.date, valid_until: datetime.date) -> int:
    return Appointment.objects.filter(
        patient=patient,
        status=AppointmentStatus.COMPLETED,
        start__date__gte=valid_from,
        start__date__lte=valid_until,
    ).count()


def load_referrals_demo(staff: dict, patients: list, today: datetime.date | None = None) -> ReferralsDemo:
    """Load the demo's referring providers and referrals once (nothing happens if demo
    providers exist). ``staff``: the demo's users by username (owner, frontdesk, …);
    ``patients``: the demo's patients; referrals go to those with an episode of care:
    fresh, nearly used up (1 or 2 visits left), expired, and not yet valid."""
    if ReferringProvider.objects.filter(is_demo=True).exists():
        return ReferralsDemo(False, ReferringProvider.objects.count(), Referral.objects.count())
    # Never ahead of the server's today: the referral date may not be in the future.
    today = min(today or timezone.localdate(), timezone.localdate())
    desk = staff.get("frontdesk") or staff["owner"]
    episodes = list(Episode.objects.filter(patient__in=patients).select_related("patient").order_by("opened_on", "pk"))
    seen, with_episode = set(), []
    for episode in episodes:
        if episode.patient_id not in seen:
            seen.add(episode.patient_id)
            with_episode.append(episode)
    # The nearly-used-up referrals go to the patients with the most completed visits.
    done = {
        row["patient"]: row["n"]
        for row in Appointment.objects.filter(patient__in=seen, status=AppointmentStatus.COMPLETED)
        .values("patient")
        .annotate(n=Count("id"))
    }
    with_episode.sort(key=lambda e: -done.get(e.patient_id, 0))
    made = 0
    with transaction.atomic():
        providers = []
        for data in PROVIDERS:
            provider = provider_actions.do_save_provider(desk, provider_actions.check_save_provider(desk, data))
            ReferringProvider.objects.filter(pk=provider.pk).update(is_demo=True)
            providers.append(provider)
        days = datetime.timedelta
        plans = [
            # nearly used up: completed visits + 2, then + 1 on the next patient
            ("nearly_2", days(120), days(60), lambda used: used + 2, False),
            ("nearly_1", days(120), days(60), lambda used: used + 1, False),
            # fresh: plenty of visits, valid for months, with a scanned original
            ("fresh", days(21), days(150), lambda used: used + 12, True),
        ]
        for n, episode in enumerate(with_episode[: len(plans)]):
            state, back, ahead, visits, scan = plans[n]
            patient = episode.patient
            valid_from = min(today - back, episode.opened_on)
            valid_until = today + ahead
            used = _completed(patient, valid_from, valid_until)
            data = {
                "provider": providers[n % len(providers)],
                "referral_date": valid_from,
                "diagnosis_codes": ["M54.50"] if n % 2 == 0 else ["M54.2", "M62.830"],
                "reason": f"Demo referral ({state.replace('_', ' ')}): massage therapy for pain and function.",
                "sessions_per_week": 1,
                "weeks": 12,
                "visits_authorized": max(1, min(500, visits(used))),
                "valid_from": valid_from,
                "valid_until": valid_until,
                "authorization_number": f"DEMO-{1000 + n}",
                "precautions": "No deep pressure over the lumbar spine for the first two visits."
                if state == "fresh"
                else "",
                "episode": episode,
            }
            clean = referral_actions.check_save_referral(desk, patient, data)
            original = None
            if scan:
                original = referral_actions.check_original(
                    desk, patient, ContentFile(synthetic_scan_pdf(), name="demo-referral.pdf")
                )
            referral_actions.do_save_referral(desk, patient, clean, original=original)
            made += 1
        # expired and not yet valid: the next patients, or the first ones again
        extra = with_episode[len(plans) :] or with_episode
        if extra:
            expired_for = extra[0].patient
            clean = referral_actions.check_save_referral(
                desk,
                expired_for,
                {
                    "provider": providers[3],
                    "referral_date": today - days(220),
                    "diagnosis_codes": ["M79.7"],
                    "reason": "Demo referral (expired): fibromyalgia, gentle massage.",
                    "sessions_per_week": 1,
                    "weeks": 24,
                    "visits_authorized": 24,
                    "valid_from": today - days(220),
                    "valid_until": today - days(10),
                },
            )
            referral_actions.do_save_referral(desk, expired_for, clean)
            later_for = (extra[1] if len(extra) > 1 else extra[0]).patient
            clean = referral_actions.check_save_referral(
                desk,
                later_for,
                {
                    "provider": providers[2],
                    "referral_date": today - days(2),
                    "diagnosis_codes": ["I89.0"],
                    "reason": "Demo referral (not valid yet): lymphedema, manual lymphatic drainage.",
                    "sessions_per_week": 2,
                    "weeks": 6,
                    "visits_authorized": 12,
                    "valid_from": today + days(7),
                    "valid_until": today + days(7 + 6 * 7),
                    "precautions": "Light pressure only; no deep work in the affected quadrant.",
                },
            )
            referral_actions.do_save_referral(desk, later_for, clean)
            made += 2
    return ReferralsDemo(True, len(providers), made)
