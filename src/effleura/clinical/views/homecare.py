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
from effleura.core.permissions import has_permission
from effleura.documents.pdf import pdf_response
from effleura.patients.chart import chart_context

TAB = "clinical"
HANDOUT_TEMPLATE = "clinical/homecare_handout.html"


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
        return _render_form(request, home_care, homecare.as_data(home_care), {})
    episode = access_episode(request.user, episode_id)
    data, op = _parse(request.POST)
    home_care = homecare.HomeCare(episode, None, [])
    if op is None:
        return _render_form(request, home_care, data, {"__all__": "Choose what to do: save, add, move or remove."})
    done = _apply(op, data)
    try:
        clean = homecare.check_save_homecare(request.user, episode, data)
    except ValidationError as exc:
        errors = (
            {f: " ".join(m) for f, m in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"__all__": " ".join(exc.messages)}
        )
        return _render_form(request, home_care, data, errors)
    homecare.do_save_homecare(request.user, episode, clean)
    messages.success(request, done)
    if op[0] == "save":
        return redirect("clinical:homecare", episode_id=episode.public_id)
    return redirect("clinical:homecare_edit", episode_id=episode.public_id)


def homecare_pdf(request, episode_id):
    """The handout as a PDF on the practice's letterhead (audited as a print)."""
    home_care = access_homecare_handout(request.user, episode_id)
    context = homecare.handout_context(home_care)
    return pdf_response(request, HANDOUT_TEMPLATE, context, filename=homecare.handout_filename(home_care))


# The form ----------------------------------------------------------------------------


def _parse(post) -> tuple[dict, tuple[str, int] | tuple[str, str] | None]:
    """The plan the form sent back, and the operation of the button pressed."""
    items = []
    for n in range(homecare.MAX_ITEMS * 2):  # bounded: a forged form cannot make us loop
        key = post.get(f"item_{n}")
        if key is None:
            break
        items.append({"item": key, "dosage": post.get(f"dosage_{n}", ""), "notes": post.get(f"notes_{n}", "")})
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
        items.append({"item": arg, "dosage": "", "notes": ""})
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


def _render_form(request, home_care: homecare.HomeCare, data: dict, errors: dict):
    rows = []
    for n, row in enumerate(data["items"]):
        try:
            entry = knowledge.selfcare_item(row["item"])
        except KeyError:
            entry = None
        rows.append(
            {
                "n": n,
                "key": row["item"],
                "title": entry.title if entry else "Not in the self-care library any more: remove it",
                "library_dosage": entry.dosage if entry else "",
                "dosage": row.get("dosage", ""),
                "notes": row.get("notes", ""),
                "errors": [m for f, m in errors.items() if f.startswith(f"items.{n}.") or f == f"items.{n}"],
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
        limits={"introduction": homecare.INTRODUCTION_MAX, "dosage": homecare.DOSAGE_MAX, "notes": homecare.NOTES_MAX},
    )
    return render(request, "clinical/homecare_form.html", context, status=422 if errors else 200)


urlpatterns = [
    path("episodes/<uuid:episode_id>/home-care/", homecare_view, name="homecare"),
    path("episodes/<uuid:episode_id>/home-care/edit/", homecare_edit, name="homecare_edit"),
    path("episodes/<uuid:episode_id>/home-care/handout.pdf", homecare_pdf, name="homecare_pdf"),
]
