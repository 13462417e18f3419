"""The pages' form helpers: errors of table lines land beside the row of the form they name."""

from app.web.forms import renumber


def test_schema_errors_of_filled_rows_name_the_form_rows() -> None:
    errors = {"lines.0.quantity": "Enter a number", "lines.1.lot_code": "Required", "form": "x"}

    assert renumber(errors, [2, 5]) == {
        "lines.2.quantity": "Enter a number",
        "lines.5.lot_code": "Required",
        "form": "x",
    }


def test_service_errors_with_indexes_in_brackets_name_the_form_rows() -> None:
    errors = {"lines[1].quantity": "25 still to receive; 250 arrived"}

    assert renumber(errors, [0, 3]) == {"lines.3.quantity": "25 still to receive; 250 arrived"}


def test_an_index_past_the_filled_rows_is_kept() -> None:
    assert renumber({"lines[4].quantity": "too much"}, [1]) == {"lines.4.quantity": "too much"}
