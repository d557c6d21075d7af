"""Which source fills each top-level field of a record: a sampler, a derivation or the model.

Small models write names, emails and dates badly (`user96@example.com`, five "John Smith", the
year 0948) and free text well enough. So a record is planned field by field: a field whose value
a library can draw realistically (Faker for people, places and companies; numpy for bounded
numbers; enums, consts and booleans) is *sampled*; a field that follows from others (an email from
the name, `updated_at` after `created_at`) is *derived*; everything else (bios, descriptions,
titles, product names, patterned codes) stays with the *model*.

A choice is made only where it is confident, and it is checked: at plan time each sampler draws a
few values that must validate (format checks on) against the field's subschema, or the field goes
back to the model with the reason. Values are deterministic in (seed, index), so a rerun makes the
same record, and identifying fields carry a disambiguator built from the index, so they are unique
within a dataset whatever process drew them.

Where each part lives (a reader finds each concept in the module named after it):

- `plan`: what a plan is: `FieldSource`, `FieldOverride`, `FieldPlan`, `RecordPlan`.
- `planner`: `plan_fields`, the steps in order (overrides, choice, derivation, trial records).
- `choice`: which samplers could fill a field, trial draws, why a field stays with the model.
- `derive`: derived fields: `DERIVERS` and which fields follow from which.
- `subjects`: what a record is about (places, a product, an event) and the fields that follow.
- `samplers`: `SAMPLERS`, one function per kind of field.
- `context`: the seeded per-record draw state (`_Ctx`): streams, tags, the record's person and place.
- `fill`: `sample_record`: a record's filled fields drawn in order, redrawn until valid.
- `personas`: `persona` and `pronouns`, for the model's free text.
- `vocabulary`: the tables: field names, cue sets, places, products, hobbies.
- `dates`, `subschema`: the time and JSON Schema rules the others share.

Names with a leading underscore are private to this package; importers use the names below.
"""

from apprentice.fieldplan.derive import DERIVERS
from apprentice.fieldplan.fill import sample_record
from apprentice.fieldplan.personas import person_age, persona, pronouns
from apprentice.fieldplan.plan import FieldOverride, FieldPlan, FieldPlanError, FieldSource, RecordPlan
from apprentice.fieldplan.planner import plan_fields
from apprentice.fieldplan.samplers import SAMPLERS
from apprentice.fieldplan.subjects import event_span, is_about_a_person, is_product
from apprentice.fieldplan.vocabulary import HOBBY_FIELDS, PERSON_CUES, PRODUCT_CUES

__all__ = [
    "DERIVERS",
    "HOBBY_FIELDS",
    "PERSON_CUES",
    "PRODUCT_CUES",
    "SAMPLERS",
    "FieldOverride",
    "FieldPlan",
    "FieldPlanError",
    "FieldSource",
    "RecordPlan",
    "event_span",
    "is_about_a_person",
    "is_product",
    "person_age",
    "persona",
    "plan_fields",
    "pronouns",
    "sample_record",
]
