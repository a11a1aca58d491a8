"""Clinical pages: the home-care plan and its PDF handout. URL names are listed in
core/permissions.py URL_RULES (# clinical: outcome measures and home care).

Thin: clinical/access.py reads (access_*), clinical/homecare.py saves the whole plan (check_*/do_*);
adding, removing and moving an item are edits of the list the form sends back, saved
at once, so the page works without scripts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path

from effleura.clinical import homecare, knowledge
from effleura.clinical.access import access_episode, access_homecare, access_homecare_handout
from effleura.clinical.choices import EpisodeStatus
from effleura.clinical.client_screening import screening_for
from effleura.clinical.views import versions as row_versions
from effleura.core import versions
from effleura.core.forms import VersionedForm, show_conflict
from effleura.core.permissions import has_permission
from effleura.documents.pdf import pdf_response
from effleura.patients.chart import chart_context

TAB = "clinical"
HANDOUT_TEMPLATE = "clinical/homecare_handout.html"
PARTS = {"introduction": "Introduction", "items": "Items"}


def _context(request, home_care: homecare.HomeCare, **extra) -> dict:
    episode = home_care.episode
    context = chart_context(request, episode.patient, TAB)
    context.update(
        {
            "episode": episode,
            "home_care": home_care,
            "episode_open": episode.status == EpisodeStatus.OPEN,
            "can_write": has_permission(request.user, "clinical.write"),
            "can_print": has_permission(request.user, "clinical.print"),
            **extra,
        }
    )
    return context


def homecare_view(request, episode_id):
    """The plan as the client will read it, with the way to edit and print it."""
    home_care = access_homecare(request.user, episode_id)
    return render(request, "clinical/homecare.html", _context(request, home_care))


def homecare_edit(request, episode_id):
    """Edit the plan: introduction, items (add, remove, move up or down), dosage and notes."""
    if request.method != "POST":
        home_care = access_homecare(request.user, episode_id)
        data = homecare.as_data(home_care)
        return _render_form(request, home_care, data, {}, version=home_care.version, shown=_parts(data))
    episode = access_episode(request.user, episode_id)
    data, op = _parse(request.POST)
    home_care = homecare.HomeCare(episode, None, [])
    kept = {"version": request.POST.get("version", ""), "shown": request.POST.get(row_versions.FIELD, "")}
    if op is None:
        return _render_form(
            request, home_care, data, {"__all__": "Choose what to do: save, add, move or remove."}, **kept
        )
    done = _apply(op, data)
    try:
        expected = versions.parse_posted(request.POST.get("version"))
        clean = homecare.check_save_homecare(request.user, episode, data)
        homecare.do_save_homecare(request.user, episode, clean, expected_version=expected)
    except versions.StaleVersion as exc:
        return _conflict(request, episode, data, exc)
    except ValidationError as exc:
        errors = (
            {f: " ".join(m) for f, m in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"__all__": " ".join(exc.messages)}
        )
        return _render_form(request, home_care, data, errors, **kept)
    messages.success(request, done)
    if op[0] == "save":
        return redirect("clinical:homecare", episode_id=episode.public_id)
    return redirect("clinical:homecare_edit", episode_id=episode.public_id)


def homecare_pdf(request, episode_id):
    """The handout as a PDF on the practice's letterhead (audited as a print)."""
    home_care = access_homecare_handout(request.user, episode_id)
    context = homecare.handout_context(home_care)
    return pdf_response(request, HANDOUT_TEMPLATE, context, filename=homecare.handout_filename(home_care))


# Two people editing the plan ------------------------------------------------------------


def _parts(data: dict) -> dict[str, str]:
    """The plan (as check_save_homecare takes it) in words, as a conflict notice compares it."""
    items = []
    for row in data["items"]:
        line = _title(row["item"])
        if row.get("dosage"):
            line += f" ({row['dosage']})"
        if row.get("notes"):
            line += f": {row['notes']}"
        items.append(line)
    return {"introduction": (data.get("introduction") or "").strip() or "—", "items": "; ".join(items) or "—"}


def _conflict(request, episode, data: dict, exc: versions.StaleVersion):
    """The plan was saved by someone else after this page was loaded: show what they
    changed, keep this person's own changes, take theirs for the rest (409)."""
    form = VersionedForm(request.POST)
    form.is_valid()
    show_conflict(form, exc, [])  # who saved and when
    current = homecare.home_care_of(episode)
    stored = homecare.as_data(current)
    now = _parts(stored)
    changes, rebase = row_versions.row_changes(request.POST.get(row_versions.FIELD), now, _parts(data), PARTS)
    form.conflict.changes.extend(changes)
    for part in rebase:
        data[part] = stored[part]
    rebased = homecare.HomeCare(episode, current.plan, [])
    return _render_form(
        request, rebased, data, {}, version=current.version, shown=now, conflict=form.conflict, status=409
    )


# The form ----------------------------------------------------------------------------


def _parse(post) -> tuple[dict, tuple[str, int] | tuple[str, str] | None]:
    """The plan the form sent back, and the operation of the button pressed."""
    items = []
    for n in range(homecare.MAX_ITEMS * 2):  # bounded: a forged form cannot make us loop
        key = post.get(f"item_{n}")
        if key is None:
            break
        items.append(
            {
                "item": key,
                "dosage": post.get(f"dosage_{n}", ""),
                "notes": post.get(f"notes_{n}", ""),
                "override_reason": post.get(f"override_reason_{n}", ""),
            }
        )
    data = {"introduction": post.get("introduction", ""), "items": items}
    raw = post.get("op", "")
    name, _, arg = raw.partition(":")
    if name == "save" or (name == "add" and post.get("add")):
        return data, (name, post.get("add", ""))
    if name in ("up", "down", "remove") and arg.isdigit() and int(arg) < len(items):
        return data, (name, int(arg))
    return data, None


def _apply(op, data: dict) -> str:
    """Change ``data`` as the button asks; the message to show once saved."""
    items = data["items"]
    name, arg = op
    if name == "add":
        items.append({"item": arg, "dosage": "", "notes": "", "override_reason": ""})
        return f"Added {_title(arg)} to the plan."
    if name == "remove":
        removed = items.pop(arg)
        return f"Removed {_title(removed['item'])} from the plan."
    if name in ("up", "down"):
        moved = items[arg]["item"]
        other = arg - 1 if name == "up" else arg + 1
        if 0 <= other < len(items):
            items[arg], items[other] = items[other], items[arg]
        return f"Moved {_title(moved)} {name}."
    return "Home-care plan saved."


def _title(key: str) -> str:
    try:
        return knowledge.selfcare_item(key).title
    except KeyError:
        return "the item"


def _render_form(
    request, home_care: homecare.HomeCare, data: dict, errors: dict, *, version, shown, conflict=None, status=None
):
    """The edit form for ``data``; ``version`` and ``shown`` (the plan in words, or as the
    page posted it, signed) go back in its hidden fields."""
    rows = []
    found = screening_for(home_care.episode.patient)
    for n, row in enumerate(data["items"]):
        try:
            entry = knowledge.selfcare_item(row["item"])
        except KeyError:
            entry = None
        check = homecare.check_item(entry, found) if entry else homecare.ItemCheck("", ())
        rows.append(
            {
                "n": n,
                "key": row["item"],
                "title": entry.title if entry else "Not in the self-care library any more: remove it",
                "library_dosage": entry.dosage if entry else "",
                "dosage": row.get("dosage", ""),
                "notes": row.get("notes", ""),
                "override_reason": row.get("override_reason", ""),
                "needs_reason": check.needs_reason,
                "warnings": check.warnings,
                "regions": entry.region_labels if entry else [],
                "not_for": homecare.not_for(entry) if entry else [],
                "reason_error": errors.get(f"items.{n}.override_reason", ""),
                "errors": [
                    m
                    for f, m in errors.items()
                    if (f.startswith(f"items.{n}.") or f == f"items.{n}") and f != f"items.{n}.override_reason"
                ],
                "first": n == 0,
                "last": n == len(data["items"]) - 1,
            }
        )
    in_plan = {row["item"] for row in data["items"]}
    groups = [
        (label, [entry for entry in entries if entry.key not in in_plan])
        for label, entries in homecare.library_by_category()
    ]
    context = _context(
        request,
        home_care,
        introduction=data["introduction"],
        rows=rows,
        groups=[(label, entries) for label, entries in groups if entries],
        errors=errors,
        top_errors=[m for f, m in errors.items() if not f.startswith("items.")],
        limits={
            "introduction": homecare.INTRODUCTION_MAX,
            "dosage": homecare.DOSAGE_MAX,
            "notes": homecare.NOTES_MAX,
            "reason": homecare.REASON_MAX,
        },
        version=version,
        loaded_rows=shown if isinstance(shown, str) else row_versions.sign(shown),
        conflict=conflict,
    )
    return render(request, "clinical/homecare_form.html", context, status=status or (422 if errors else 200))


urlpatterns = [
    path("episodes/<uuid:episode_id>/home-care/", homecare_view, name="homecare"),
    path("episodes/<uuid:episode_id>/home-care/edit/", homecare_edit, name="homecare_edit"),
    path("episodes/<uuid:episode_id>/home-care/handout.pdf", homecare_pdf, name="homecare_pdf"),
]
