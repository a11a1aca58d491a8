"""{% body_chart marks editable=False field_name="body_marks" %}: draws the body chart
(clinical/bodychart.py) through clinical/includes/body_chart_svg.html. Templates use it
through clinical/includes/body_chart.html."""

from django import template

from effleura.clinical import bodychart

register = template.Library()


@register.inclusion_tag("clinical/includes/body_chart_svg.html", takes_context=True)
def body_chart(context, marks, editable=False, field_name="body_marks"):
    # Element ids must be unique when a page shows several charts (a note beside the
    # assessment's pain map): number them per rendering.
    # The render context's first level lives as long as the whole page's rendering.
    counter = context.render_context.dicts[0].setdefault("body_chart_count", [0])
    counter[0] += 1
    name = field_name or "body_marks"
    uid = f"bodychart-{name}" if editable else f"bodychart-{counter[0]}"
    return {"chart": bodychart.chart_context(marks, editable=bool(editable), field_name=name, uid=uid)}
