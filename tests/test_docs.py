"""Generated documentation stays in step with the code."""

from pathlib import Path

from model.ui.cli import format_params_table

ROOT = Path(__file__).resolve().parents[1]


def test_parameter_table_is_up_to_date():
    text = (ROOT / "docs" / "parameters.md").read_text()
    assert text.strip() == format_params_table(markdown=True).strip(), (
        "docs/parameters.md is stale: run `emigsim params --markdown > docs/parameters.md`")
