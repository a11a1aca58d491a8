"""Clinical pages: the knowledge base, read-only. Lists every technique, screening rule,
outcome measure, self-care item, assessment list and diagnosis code with its source and
review date, so the practice can review them. URL names are listed in core/permissions.py
URL_RULES (# clinical: knowledge base); knowledge.view is for clinicians only."""

from django.shortcuts import render
from django.urls import path

from effleura.clinical import knowledge
from effleura.core.access import authorize

NAV = "knowledge"
SEVERITY_WORDS = {
    "absolute": "Absolute: no massage today, defer or refer",
    "local": "Local: avoid the named region",
    "precaution": "Precaution: adapt",
}


def knowledge_base(request):
    authorize(request.user, "knowledge.view")
    kb = knowledge.get()
    labels = {t.key: t.label for t in kb.techniques}
    conditions = [
        {
            "info": c,
            "indicated": [labels[k] for k in c.indicated],
            "rules": [
                {
                    "rule": r,
                    "severity_words": SEVERITY_WORDS[r.severity],
                    "affects": [labels[k] for k in r.affects],
                }
                for r in c.rules
            ],
        }
        for c in kb.conditions
    ]
    entries = [
        *kb.techniques,
        *(r for c in kb.conditions for r in c.rules),
        *kb.measures,
        *kb.selfcare,
        *kb.posture_findings,
        *kb.rom_movements,
        *kb.tone_findings,
        *kb.special_tests,
        *kb.diagnosis_codes,
    ]
    reviewed = [e.reviewed for e in entries if e.reviewed is not None]
    context = {
        "nav": NAV,
        "kb": kb,
        "groups": [
            ("Techniques", knowledge.techniques()),
            ("Strokes", knowledge.strokes()),
            ("Adjunct modalities", knowledge.modalities()),
        ],
        "conditions": conditions,
        "entry_count": len(entries),
        "reviewed_count": len(reviewed),
        "oldest_review": min(reviewed, default=None),
    }
    return render(request, "clinical/knowledge.html", context)


urlpatterns = [
    path("knowledge/", knowledge_base, name="knowledge"),
]
