from django import forms

from effleura.core.api_schemas import LONG_TEXT
from effleura.core.forms import VersionedForm
from effleura.patients.actions import NOTE_MAX, PATIENT_FIELDS
from effleura.patients.choices import (
    BodyRegion,
    Condition,
    ConsentKind,
    ImplantedDevice,
    PressurePreference,
    SignerRelationship,
)
from effleura.patients.models import Patient


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(VersionedForm, forms.ModelForm):
    confirm_different_person = forms.BooleanField(
        required=False,
        label="I checked: this is a different person with the same name and date of birth",
    )
    # The column has no limit; the form counts down to the one the action and the API keep.
    notes = forms.CharField(required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "date_of_birth": DateInput(),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
        }

    def __init__(self, *args, show_confirm: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_confirm:
            del self.fields["confirm_different_person"]
        if self.instance.pk is None:
            del self.fields["status"]

    def validate_unique(self):
        # Chart numbers are handed out by do_create_patient; nothing else here is unique.
        pass


class MultiCheckbox(forms.CheckboxSelectMultiple):
    template_name = "patients/includes/checklist.html"


class HealthHistoryForm(forms.Form):
    # The version this form was filled from (0: none yet); a newer one saved meanwhile
    # refuses the save instead of dropping what it added.
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    presenting_complaint = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 3}), label="What brings you in?"
    )
    goals = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2}), label="Goals for care"
    )
    pain_areas = forms.MultipleChoiceField(choices=BodyRegion.choices, required=False, widget=MultiCheckbox)
    conditions = forms.MultipleChoiceField(
        choices=Condition.choices,
        required=False,
        widget=MultiCheckbox,
        label="Tick every condition that applies now",
    )
    condition_notes = forms.CharField(
        required=False, max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2}), label="Notes on conditions"
    )
    allergies = forms.CharField(required=False, max_length=LONG_TEXT, label="Allergies")
    allergic_to_oils_or_lotions = forms.BooleanField(
        required=False, label="Allergic or sensitive to oils, lotions or scents"
    )
    pregnant = forms.BooleanField(required=False, label="Pregnant")
    pregnancy_weeks = forms.IntegerField(required=False, min_value=1, max_value=45, label="Weeks of pregnancy")
    implanted_devices = forms.MultipleChoiceField(choices=ImplantedDevice.choices, required=False, widget=MultiCheckbox)
    implanted_devices_notes = forms.CharField(required=False, max_length=NOTE_MAX, label="Notes on devices")
    recent_illness_or_fever = forms.BooleanField(required=False, label="Recent illness or fever")
    recent_illness_notes = forms.CharField(required=False, max_length=NOTE_MAX, label="Notes on illness")
    pressure_preference = forms.ChoiceField(
        choices=[("", "No preference"), *PressurePreference.choices], required=False
    )
    areas_to_avoid = forms.MultipleChoiceField(choices=BodyRegion.choices, required=False, widget=MultiCheckbox)
    areas_to_avoid_notes = forms.CharField(required=False, max_length=NOTE_MAX, label="Notes on areas to avoid")


class MedicationForm(forms.Form):
    name = forms.CharField(required=False, max_length=120, label="Medication")
    dose = forms.CharField(required=False, max_length=60, label="Dose")
    blood_thinner = forms.BooleanField(required=False, label="Blood thinner")


class SurgeryForm(forms.Form):
    what = forms.CharField(required=False, max_length=200, label="Surgery")
    date = forms.DateField(required=False, widget=DateInput(), label="Date")


MedicationFormSet = forms.formset_factory(MedicationForm, extra=2, max_num=30)
SurgeryFormSet = forms.formset_factory(SurgeryForm, extra=1, max_num=30)


class ConsentCaptureForm(forms.Form):
    # Not required here: check_capture_consent reports a missing name and a missing tick
    # together, rather than one per submit.
    typed_name = forms.CharField(max_length=200, required=False, label="Patient’s full name (typed as signature)")
    signed_by_relationship = forms.ChoiceField(
        choices=[("", "— (the patient signs)"), *SignerRelationship.choices],
        required=False,
        label="Signing for the patient as their",
        help_text="Only when someone signs for the patient, e.g. a parent for a child.",
    )
    signed_by_name = forms.CharField(
        max_length=200,
        required=False,
        label="Full name of the person signing",
        help_text="The same name typed as the signature above.",
    )
    agreed = forms.BooleanField(
        required=False, label="I have read this document, had my questions answered, and I agree"
    )

    def __init__(self, *args, for_patient: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if for_patient:  # hand-over mode: the patient reads the form themselves
            self.fields["typed_name"].label = "Your full name (typed as signature)"
            self.fields["signed_by_relationship"].label = "I am signing for the patient as their"
            self.fields["signed_by_name"].label = "My full name"

    @property
    def signs_for_patient(self) -> bool:
        """Whether the "signing for the patient" part should start open."""
        if not self.is_bound:
            return False
        named = bool(self.data.get("typed_name", "").strip())
        return bool(
            self.data.get("signed_by_relationship")
            or self.data.get("signed_by_name")
            or self.has_error("signed_by_name")
            or self.has_error("signed_by_relationship")
            or (named and self.has_error("typed_name"))
        )


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Reason for withdrawal")


class ConsentDocumentForm(forms.Form):
    title = forms.CharField(max_length=150)
    kind = forms.ChoiceField(choices=ConsentKind.choices)
    required = forms.BooleanField(required=False, initial=True, label="Every active patient must sign it")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), label="Wording")


class ConsentVersionForm(VersionedForm, forms.Form):
    """New wording, written from the version the page showed (its hidden ``version``): if
    someone published another meanwhile, publishing is refused and the page shows theirs."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), label="New wording")
