"""How the parallel run groups the tests: a test alone, a shared fixture's tests together, and
the browser crawl one group per role."""

from tests.support.scheduling import work_group

CRAWL = "tests/e2e/test_crawl.py"


def test_a_test_without_a_shared_fixture_is_a_group_of_its_own() -> None:
    nodeid = "tests/unit/test_layers.py::test_a_sibling_never_imports_the_other[app.api]"

    assert work_group(nodeid) == nodeid


def test_the_tests_of_a_shared_fixture_are_one_group() -> None:
    journey = "tests/e2e/test_journeys.py::test_a_wrong_password_is_refused_next_to_the_form"
    backup = "tests/integration/test_backup.py"

    assert work_group(journey) == "tests/e2e"
    assert work_group(f"{backup}::test_retention_removes_old_backups_unless_skipped") == backup


def test_the_crawl_makes_a_group_of_each_role_for_both_of_its_tests() -> None:
    crawl = f"{CRAWL}::test_every_page_a_role_reaches_opens_cleanly_and_passes_axe"
    menu = f"{CRAWL}::test_the_menu_reaches_every_list_in_one_bar_or_behind_a_button"

    assert work_group(f"{crawl}[admin]") == work_group(f"{menu}[admin]") == f"{CRAWL}[admin]"
    assert work_group(f"{crawl}[staff]") == f"{CRAWL}[staff]"
    assert work_group(f"{crawl}[admin]") != work_group(f"{crawl}[manager]")
