"""Generated documentation stays in step with the code."""

import re
from pathlib import Path

from model.drivers import DRIVERS, REGENERATE, markdown_table
from model.ui.cli import format_params_table

ROOT = Path(__file__).resolve().parents[1]


def test_parameter_table_is_up_to_date():
    text = (ROOT / "docs" / "parameters.md").read_text()
    assert text.strip() == format_params_table(markdown=True).strip(), (
        "docs/parameters.md is stale: run `emigsim params --markdown > docs/parameters.md`")


def test_driver_table_is_up_to_date():
    text = (ROOT / "docs" / "drivers.md").read_text()
    assert text == markdown_table(), f"docs/drivers.md is stale: run `{REGENERATE}`"


def test_every_driver_is_in_the_data_readme():
    section = (ROOT / "model" / "data" / "README.md").read_text().split("## Drivers", 1)[1]
    missing = [n for n, d in DRIVERS.items() if f"`{n}`" not in section or d.file not in section]
    assert not missing, f"model/data/README.md lacks drivers {missing}"


README = ROOT / "README.md"


def _toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.S)


def test_readme_scenario_example_is_the_shipped_file():
    shipped = (README.parent / "scenarios" / "no_compatriot_programme.toml").read_text()
    body = shipped.split("\n\n", 1)[1].strip()  # the file less its opening comment
    assert body + "\n" in _toml_blocks(README.read_text())


def test_readme_tour_commands_exist_after_the_two_commands():
    # the two commands install into .venv: the tour uses .venv/bin/emigsim, not a bare name
    tour = README.read_text().split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    commands = [ln for ln in re.findall(r"```bash\n(.*?)```", tour, flags=re.S)[0].splitlines()
                if ln and not ln.startswith("#")]
    assert commands and all(c.startswith(".venv/bin/emigsim ") for c in commands)
    assert any(c.startswith(".venv/bin/emigsim compare ") for c in commands)
