from django.db import models


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DISCHARGED = "discharged", "Discharged"


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Prefer not to say"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    POST = "post", "Post"


class PressurePreference(models.TextChoices):
    """The pressure scale of PRODUCT.md, shared with session notes."""

    LIGHT = "light", "Light"
    MODERATE = "moderate", "Moderate"
    FIRM = "firm", "Firm"
    DEEP = "deep", "Deep"


class Condition(models.TextChoices):
    """The health-history checklist. Keys are the stable condition keys of the screening
    knowledge base (PRODUCT.md, "Screening facts"); the clinical app's rules are keyed by them."""

    DVT = "dvt", "Deep vein thrombosis or thrombophlebitis (blood clot)"
    ANTICOAGULANT = "anticoagulant", "Taking blood thinners, or a bleeding disorder"
    SKIN_INFECTION = "skin_infection", "Skin infection or open wound"
    OSTEOPOROSIS_SEVERE = "osteoporosis_severe", "Severe osteoporosis"
    FEVER = "fever", "Fever or acute infection"
    PREGNANCY = "pregnancy", "Pregnancy"
    RECENT_SURGERY = "recent_surgery", "Surgery in the last 6 weeks"
    CANCER_TREATMENT = "cancer_treatment", "Active cancer, chemotherapy or radiation"
    LYMPHEDEMA = "lymphedema", "Lymphedema or lymph nodes removed"
    VARICOSE_VEINS = "varicose_veins", "Varicose veins"
    PACEMAKER = "pacemaker", "Pacemaker, implanted defibrillator or stimulator"
    HYPERTENSION_UNCONTROLLED = "hypertension_uncontrolled", "High blood pressure, not controlled"
    CHF = "chf", "Congestive heart failure"
    DIABETIC_NEUROPATHY = "diabetic_neuropathy", "Diabetes with loss of sensation"
    ACUTE_INFLAMMATION = "acute_inflammation", "Acute inflammation or recent injury"
    FRACTURE = "fracture", "Unhealed fracture"
    EPILEPSY = "epilepsy", "Epilepsy or seizures"
    RAYNAUDS = "raynauds", "Raynaud's or cold urticaria"


class BodyRegion(models.TextChoices):
    """Regions of the body, shared by pain areas, areas to avoid and (later) the body chart."""

    HEAD = "head", "Head"
    FACE_JAW = "face_jaw", "Face and jaw"
    NECK = "neck", "Neck"
    SHOULDER_L = "shoulder_l", "Left shoulder"
    SHOULDER_R = "shoulder_r", "Right shoulder"
    UPPER_BACK = "upper_back", "Upper back"
    MID_BACK = "mid_back", "Mid back"
    LOW_BACK = "low_back", "Low back"
    CHEST = "chest", "Chest"
    ABDOMEN = "abdomen", "Abdomen"
    ARM_L = "arm_l", "Left arm"
    ARM_R = "arm_r", "Right arm"
    ELBOW_L = "elbow_l", "Left elbow"
    ELBOW_R = "elbow_r", "Right elbow"
    WRIST_HAND_L = "wrist_hand_l", "Left wrist and hand"
    WRIST_HAND_R = "wrist_hand_r", "Right wrist and hand"
    HIP_L = "hip_l", "Left hip"
    HIP_R = "hip_r", "Right hip"
    GLUTES = "glutes", "Buttocks"
    THIGH_L = "thigh_l", "Left thigh"
    THIGH_R = "thigh_r", "Right thigh"
    KNEE_L = "knee_l", "Left knee"
    KNEE_R = "knee_r", "Right knee"
    LOWER_LEG_L = "lower_leg_l", "Left lower leg"
    LOWER_LEG_R = "lower_leg_r", "Right lower leg"
    ANKLE_FOOT_L = "ankle_foot_l", "Left ankle and foot"
    ANKLE_FOOT_R = "ankle_foot_r", "Right ankle and foot"


class ImplantedDevice(models.TextChoices):
    PACEMAKER = "pacemaker", "Pacemaker"
    DEFIBRILLATOR = "defibrillator", "Implanted defibrillator"
    NERVE_STIMULATOR = "nerve_stimulator", "Nerve or spinal cord stimulator"
    INSULIN_PUMP = "insulin_pump", "Insulin pump"
    JOINT_REPLACEMENT = "joint_replacement", "Joint replacement"
    BREAST_IMPLANTS = "breast_implants", "Breast implants"
    PORT_CATHETER = "port_catheter", "Port or central line"
    OTHER = "other", "Other"


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Consent to treatment"
    PRIVACY = "privacy", "Privacy notice"
    OTHER = "other", "Other"


class SignerRelationship(models.TextChoices):
    """Who may sign a consent for a patient who does not sign it themselves."""

    PARENT = "parent", "Parent"
    GUARDIAN = "guardian", "Guardian"
    LEGAL_REPRESENTATIVE = "legal_rep", "Legal representative"


class ConsentState(models.TextChoices):
    """Where a patient stands with one consent document."""

    CURRENT = "current", "Signed, current version"
    OUTDATED = "outdated", "Signed an older version"
    WITHDRAWN = "withdrawn", "Withdrawn"
    MISSING = "missing", "Not signed"
