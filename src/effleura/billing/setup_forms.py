"""The forms of the billing set-up pages (billing/resources.py draws the pages from them):
procedure codes, the technique mapping, payers, fees and package plans. They only parse
what was typed; billing/setup.py validates."""

from django import forms
from django.db.models import Q

from effleura.billing import modifiers, setup
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models import Payer, ProcedureCode
from effleura.scheduling.models import Service


class CodeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} · {obj.description[:70]}" + ("" if obj.is_active else " (retired)")


class CodeForm(forms.Form):
    code = forms.CharField(max_length=10, help_text="A CPT code (five digits, e.g. 97124) or HCPCS (e.g. G0283).")
    description = forms.CharField(max_length=200)
    timed = forms.BooleanField(required=False, label="Timed: billed in 15-minute units (8-minute rule)")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


class TechniqueForm(forms.Form):
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.filter(is_active=True),
        to_field_name="public_id",
        required=False,
        empty_label="Every payer (practice-wide)",
        help_text="Choose a payer to give it its own code (e.g. G0283 for Medicare).",
    )
    code = CodeChoice(
        queryset=ProcedureCode.objects.filter(is_active=True),
        to_field_name="public_id",
        required=False,
        empty_label="— not billed —",
        label="Bills as",
    )


class PayerForm(forms.Form):
    name = forms.CharField(max_length=150, help_text="As on the insurance card.")
    payer_id = forms.CharField(
        max_length=20, required=False, label="Payer ID", help_text="Electronic payer ID, if any."
    )
    address_line1 = forms.CharField(max_length=200, required=False, label="Claims address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False, label="State / province")
    postal_code = forms.CharField(max_length=20, required=False)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    unit_method = forms.ChoiceField(
        choices=UnitMethod.choices,
        initial=UnitMethod.CMS,
        label="Counts timed units by",
        help_text="Medicare and many others: the 8-minute rule over all timed minutes. Some commercial payers: "
        "each code counted alone.",
    )
    plan_type = forms.ChoiceField(
        choices=PlanType.choices, initial=PlanType.GROUP, label="Insurance type", help_text="Box 1 of the claim form."
    )
    line_modifiers = forms.CharField(
        max_length=11,
        required=False,
        label="Modifiers on every claim line",
        help_text="Box 24D, e.g. GP when the payer wants therapy services marked. Up to four, with spaces. "
        "Not 59: it goes on one code of a pair (below).",
    )
    pair_modifiers = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "characters"}),
        label="Modifiers for code pairs billed the same day",
        help_text="One pair a line: the code that takes the modifier, the code billed with it, the modifier, "
        "e.g. “97140 with 97530: 59” (59 on 97140 when 97530 is billed the same day). Enter the pairs this "
        "payer publishes (its NCCI edits); Effleura has no list of its own.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered for new policies)")

    def clean_pair_modifiers(self):
        """The text as pairs (list of modifiers.CodePair); setup.check_save_payer checks them."""
        try:
            return modifiers.parse_pairs(self.cleaned_data["pair_modifiers"])
        except modifiers.PairSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from None


class FeeForm(forms.Form):
    code = CodeChoice(queryset=ProcedureCode.objects.none(), required=False, label="Procedure code (price per unit)")
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, label="…or a service (price per visit)"
    )
    minutes = forms.IntegerField(
        required=False, min_value=1, max_value=32767, label="For visits of (minutes)",
        help_text="A service only: a price for one length, e.g. 30. Empty: the price for any length.",
    )  # fmt: skip
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.none(), required=False, empty_label="Standard price (self-pay and fallback)"
    )
    amount = forms.CharField(max_length=20, label="Amount", help_text="Dollars and cents, e.g. 95.00.")

    def __init__(self, *args, fee=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, model in (("code", ProcedureCode), ("service", Service), ("payer", Payer)):
            current = getattr(fee, name, None) if fee else None
            self.fields[name].queryset = model.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))
            self.fields[name].to_field_name = "public_id"


class PlanForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="As the client sees it, e.g. “10 × 60-minute massage”.")
    sessions = forms.IntegerField(min_value=1, max_value=setup.MAX_PACKAGE_SESSIONS)
    price = forms.CharField(max_length=20, help_text="For the whole package, e.g. 850.00.")
    valid_days = forms.IntegerField(
        min_value=1, max_value=setup.MAX_VALID_DAYS, initial=365, label="Valid for (days after purchase)"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service",
        help_text="Only visits for this service use the package.",
    )  # fmt: skip
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered for sale)")

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = plan.service if plan else None
        self.fields["service"].queryset = Service.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))
        self.fields["service"].to_field_name = "public_id"
