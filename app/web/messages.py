"""What the pages say about refused input: each check's error in plain words, naming the
field by its label, never a pattern, a validation library's phrase or an internal id."""

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic_core import ErrorDetails

from app.core import formatting
from app.core.errors import DomainError
from app.services import customers
from app.services.repeated_deliveries import RepeatedDeliveryNoteError

# Labels of fields whose name does not say it plainly (others: "unit_cost" -> "unit cost").
LABELS = {
    "sku": "SKU",
    "best_before": "best-before date",
    "received_date": "received date",
    "expected_date": "expected date",
    "moisture_pct": "moisture",
    "net_weight_kg": "net weight",
    "origin_country": "country of origin",
    "shelf_life_days": "shelf life",
    "min_shelf_life_days": "minimum shelf life",
    "cover_days": "days of cover",
    "from_warehouse_id": "warehouse to move from",
    "to_warehouse_id": "warehouse to move to",
    "user_id": "customer login",
    "line_id": "order line",
    "notes": "note",
    "is_organic": "organic",
    "allow_repeated_delivery_note": "another delivery under the same note",
    "allow_over_receipt": "accept more than ordered",
}
# What a text of a patterned field looks like, by field.
SHAPES = {
    "sku": "letters, digits, dots, dashes and underscores, up to 40, starting with a letter "
    "or digit",
    "code": "letters, digits, dots, dashes and underscores, up to 40, starting with a letter "
    "or digit",
    "lot_code": "letters, digits, dots, slashes, dashes and underscores, up to 60, starting "
    "with a letter or digit",
    "origin_country": "a two-letter country code such as TR, or nothing",
    "country": "a two-letter country code such as TR, or nothing",
}
# The schemas' own checks, in plain words ({label} is the field's).
OWN_CHECKS = {
    "must not contain control characters": "The {label} holds invisible control characters; "
    "remove them.",
    "must be 1 for a product sold by kg": "A product sold by kg weighs 1 kg a unit; enter 1 "
    "or choose packs.",
}
EMAIL = "Enter an email address such as name@example.com."
# Service refusals whose wording names an option of the API.
SERVICE_WORDS = {
    customers.CUSTOMER_REQUIRED: "Choose the customer.",
}
# The services' sentences that name a record by its id: "Customer 7 does not exist.",
# "Warehouse 2 is inactive.", "Lot 5 has no document 9."
KIND = r"(?P<kind>[A-Z][a-z]+(?: [a-z]+)?) -?\d+"
RECORD_ID = re.compile(rf"^{KIND} (?P<rest>does not exist|is inactive)\.$")
MISSING_PART = re.compile(rf"^{KIND} has no (?P<part>[a-z]+)(?P<numbered> -?\d+)?\.$")


def label(field: str) -> str:
    """The label of the form field ``field`` (``lines.0.unit_cost`` -> unit cost)."""
    name = field.rsplit(".", 1)[-1]
    return LABELS.get(name) or name.removesuffix("_id").replace("_", " ")


def _picked(field: str) -> bool:
    """Whether a field is chosen from a list (a record) rather than typed."""
    return field.rsplit(".", 1)[-1].endswith("_id")


def _number(value: Any) -> str:
    try:
        return formatting.number(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


def _choices(name: str, context: Mapping[str, Any]) -> str:
    offered = str(context.get("expected", "")).replace("'", "").replace("_", " ")
    return f"Choose the {name} from the list: {offered}." if offered else f"Choose the {name}."


def _example() -> str:
    return f"12{formatting.decimal_symbol()}5"


Describe = Callable[[str, Mapping[str, Any]], str]
# By the check's error type: the label and the check's context give the message.
BY_TYPE: dict[str, Describe] = {
    "missing": lambda name, _: f"Enter the {name}.",
    "string_too_short": lambda name, ctx: (
        f"Enter the {name}."
        if ctx.get("min_length", 1) <= 1
        else f"The {name} needs at least {ctx['min_length']} characters."
    ),
    "string_too_long": lambda name, ctx: (
        f"The {name} can be at most {_number(ctx['max_length'])} characters long."
    ),
    "string_type": lambda name, _: f"Enter the {name} as text.",
    "decimal_parsing": lambda name, _: f"Enter the {name} as a number, such as {_example()}.",
    "decimal_type": lambda name, _: f"Enter the {name} as a number, such as {_example()}.",
    "float_parsing": lambda name, _: f"Enter the {name} as a number, such as {_example()}.",
    "finite_number": lambda name, _: f"Enter the {name} as a number, such as {_example()}.",
    "int_parsing": lambda name, _: f"Enter the {name} as a whole number.",
    "int_type": lambda name, _: f"Enter the {name} as a whole number.",
    "int_from_float": lambda name, _: f"Enter the {name} as a whole number.",
    "int_parsing_size": lambda name, _: f"The {name} is too large.",
    "decimal_max_places": lambda name, ctx: (
        f"Enter the {name} with at most {ctx['decimal_places']} decimal places."
    ),
    "decimal_max_digits": lambda name, _: f"The {name} is too large.",
    "decimal_whole_digits": lambda name, _: f"The {name} is too large.",
    "greater_than": lambda name, ctx: f"The {name} must be more than {_number(ctx['gt'])}.",
    "greater_than_equal": lambda name, ctx: f"The {name} cannot be less than {_number(ctx['ge'])}.",
    "less_than": lambda name, ctx: f"The {name} must be less than {_number(ctx['lt'])}.",
    "less_than_equal": lambda name, ctx: f"The {name} cannot be more than {_number(ctx['le'])}.",
    "date_parsing": lambda name, _: f"Enter the {name} as a date.",
    "date_from_datetime_parsing": lambda name, _: f"Enter the {name} as a date.",
    "date_from_datetime_inexact": lambda name, _: f"Enter the {name} as a date, without a time.",
    "date_type": lambda name, _: f"Enter the {name} as a date.",
    "datetime_parsing": lambda name, _: f"Enter the {name} as a date and time.",
    "datetime_from_date_parsing": lambda name, _: f"Enter the {name} as a date and time.",
    "enum": lambda name, ctx: _choices(name, ctx),
    "literal_error": lambda name, ctx: _choices(name, ctx),
    "bool_parsing": lambda name, _: f"Tick or clear “{name}”.",
    "bool_type": lambda name, _: f"Tick or clear “{name}”.",
    "string_pattern_mismatch": lambda name, _: f"The {name} is not in the expected form.",
    "too_short": lambda name, ctx: (
        "Fill in at least one line."
        if ctx.get("min_length", 1) <= 1
        else f"Fill in at least {ctx['min_length']} lines."
    ),
    "too_long": lambda name, ctx: f"A form takes at most {ctx['max_length']} lines.",
    "extra_forbidden": lambda name, _: f"This form has no field “{name}”.",
}


def field_message(field: str, error: ErrorDetails) -> str:
    """The plain message for one error the schema of a form found in ``field``."""
    kind = error["type"]
    context: Mapping[str, Any] = error.get("ctx") or {}
    name = label(field) if field != "form" else "form"
    leaf = field.rsplit(".", 1)[-1]
    if _picked(field) and kind != "missing":
        return f"Choose the {name} from the list."
    if _picked(field):
        return f"Choose the {name}."
    if kind == "string_pattern_mismatch" and leaf in SHAPES:
        return f"Enter the {name} as {SHAPES[leaf]}."
    if kind == "value_error":
        return _own_check(name, leaf, str(error["msg"]))
    describe = BY_TYPE.get(kind)
    return describe(name, context) if describe else f"Check the {name}."


def _own_check(name: str, leaf: str, message: str) -> str:
    said = message.removeprefix("Value error, ")
    if leaf == "email" or "email address" in said:
        return EMAIL
    template = OWN_CHECKS.get(said)
    return template.format(label=name) if template else f"Check the {name}."


def page_detail(exc: DomainError) -> str:
    """A refusal of the services as the pages say it: the API's detail where it is plain,
    without the option names and internal ids the API's clients use."""
    if exc.detail in SERVICE_WORDS:
        return SERVICE_WORDS[exc.detail]
    if isinstance(exc, RepeatedDeliveryNoteError):
        return _repeated_note(exc)
    if "looks_like" in exc.extensions:
        return (
            f"This email looks like {exc.extensions['looks_like']}, which another account "
            "has; choose another."
        )
    named = exc.extensions.get("field")
    leaf = str(named).rsplit(".", 1)[-1] if named else ""
    if leaf == "line_id":
        return "This line is no longer on the order; reload the page and try again."
    found = RECORD_ID.match(exc.detail)
    if found:
        kind = found.group("kind").lower()
        if found.group("rest") == "is inactive":
            return f"This {kind} is no longer in use; choose another."
        if named:
            return f"This {kind} no longer exists; choose another."
        return f"This {kind} does not exist, or you cannot see it."
    part = MISSING_PART.match(exc.detail)
    if part:
        such = " such" if part.group("numbered") else ""
        return f"This {part.group('kind').lower()} has no{such} {part.group('part')}."
    return exc.detail


def _repeated_note(exc: RepeatedDeliveryNoteError) -> str:
    named = exc.extensions
    received = formatting.day(datetime.fromisoformat(str(named["received_at"])))
    return (
        f"Delivery note {named['delivery_note']} was already received for {named['sku']} "
        f"lot {named['lot_code']} on {received}. If the supplier delivered again under the "
        "same note, tick “Another delivery under the same note” and send the form again."
    )
