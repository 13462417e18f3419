"""Gapless document numbers: each kind and year counts from 1 on its own, a rolled-back
transaction gives its number back, and concurrent transactions never share or skip one."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core import clock
from app.core.database import SessionLocal
from app.services.numbering import document_number, next_number

WRITERS = 50


def take(kind: str, year: int | None = None, keep: bool = True) -> int:
    """A number of ``kind`` taken in a transaction of its own, committed or rolled back."""
    with SessionLocal() as db:
        number = next_number(db, kind, year)
        if keep:
            db.commit()
        else:
            db.rollback()
        return number


def test_each_kind_and_year_counts_from_one() -> None:
    taken = [take("INV", 2026), take("INV", 2026), take("CN", 2026), take("INV", 2027)]

    assert taken == [1, 2, 1, 1]
    assert take("INV", 2026) == 3


def test_a_rolled_back_number_is_given_again() -> None:
    assert take("INV", 2026) == 1
    assert take("INV", 2026, keep=False) == 2

    assert take("INV", 2026) == 2


def test_the_number_names_the_kind_and_the_company_year() -> None:
    with SessionLocal() as db:
        first, second = document_number(db, "INV"), document_number(db, "INV")
        db.commit()

    year = clock.today().year
    assert (first, second) == (f"INV-{year}-000001", f"INV-{year}-000002")


@pytest.mark.postgres
def test_concurrent_writers_share_no_number_and_leave_no_gap() -> None:
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> tuple[int, bool]:
        keep = index % 7 != 3  # every seventh writer rolls back after taking its number
        with SessionLocal() as db:
            start.wait()
            number = next_number(db, "INV", 2026)
            if keep:
                db.commit()
            else:
                db.rollback()
        return number, keep

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))

    kept = sorted(number for number, keep in results if keep)
    assert kept == list(range(1, len(kept) + 1))
    assert take("INV", 2026) == len(kept) + 1
