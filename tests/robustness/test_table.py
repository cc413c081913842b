"""The Reliability table (docs/reliability.md) is generated from the case list; this fails when they disagree."""

from robustness.table import PAGE, markdown, readme_with_table


def test_readme_reliability_table_matches_the_case_list():
    page = PAGE.read_text()
    assert readme_with_table(page) == page, "run: python tests/robustness/table.py --write"


def test_every_area_has_cases_and_no_case_is_listed_twice():
    rows = markdown().splitlines()[2:]
    assert len(rows) == len(set(rows))
    areas = {row.split(" | ")[0].lstrip("| ") for row in rows}
    assert areas >= {"images", "keymaps", "weights", "play", "security"}
