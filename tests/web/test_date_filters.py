"""Date ranges of the reports and the audit trail: a bad one is told beside its field, in plain
words, on the page itself (not a dead-end error page), and the rest of the page still shows."""

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from app.services import reports
from tests.conftest import MakeUser
from tests.support.pages import Node, logged_in, page_of

TODAY = date.today()
MACHINE_WORDS = ("Input should", "valid date", "since", "until", "422", "Unprocessable")


def field_error(page: Node, name: str) -> str:
    """The message beside the date field ``name``; its input points at it."""
    box = page.find("input", id=name)
    assert box is not None
    assert box.attrs.get("aria-invalid") == "true"
    message = page.find("p", id=f"e-{name}")
    assert message is not None
    assert box.attrs.get("aria-describedby") == f"e-{name}"
    return message.text


def assert_plain(message: str) -> None:
    assert message
    assert not [word for word in MACHINE_WORDS if word in message], message


@pytest.mark.parametrize(
    ("since", "until", "field", "expected"),
    [
        ("2026-13-01", "", "since", "Enter the from date as a date, such as"),
        ("", "yesterday", "until", "Enter the to date as a date, such as"),
        (
            TODAY.isoformat(),
            (TODAY - timedelta(days=1)).isoformat(),
            "until",
            "The to date cannot be before the from date.",
        ),
        (
            (TODAY - timedelta(days=reports.MAX_DAYS)).isoformat(),
            TODAY.isoformat(),
            "since",
            f"Choose at most {reports.MAX_DAYS} days",
        ),
    ],
)
def test_a_bad_report_range_is_told_beside_its_field(
    client: TestClient, make_user: MakeUser, since: str, until: str, field: str, expected: str
) -> None:
    logged_in(client, make_user, Role.MANAGER)

    response = client.get("/reports", params={"since": since, "until": until})

    page = page_of(response, 422)
    assert page.find("h1").text.startswith("Reports")
    assert page.find("section", aria_labelledby="kpis") is not None
    message = field_error(page, field)
    assert message.startswith(expected), message
    assert_plain(message)
    typed = {"since": since, "until": until}[field]
    assert page.find("input", id=field).attrs["value"] == typed


def test_a_good_report_range_shows_its_days(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.MANAGER)
    first = TODAY - timedelta(days=6)

    page = page_of(client.get("/reports", params={"since": first.isoformat()}))

    assert page.find("input", id="since").attrs["value"] == first.isoformat()
    assert page.find("input", id="until").attrs["value"] == TODAY.isoformat()
    assert page.find_all("p", class_="field-error") == []


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [("31/02/2026", "", "since"), (TODAY.isoformat(), "2020-01-01", "until")],
)
def test_a_bad_audit_date_is_told_beside_its_field(
    client: TestClient, make_user: MakeUser, since: str, until: str, field: str
) -> None:
    logged_in(client, make_user, Role.ADMIN)

    page = page_of(client.get("/audit", params={"since": since, "until": until}), 422)

    assert page.find("h1").text.startswith("Audit trail")
    assert_plain(field_error(page, field))
