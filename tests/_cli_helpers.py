"""Helpers shared by the CLI tests: call the CLI in-process, check a one-line rejection."""

from __future__ import annotations

from model.ui import cli


def main_inprocess(args: list[str], capsys) -> tuple[int, str, str]:
    """Call cli.main like the console script does (argparse errors raise SystemExit)."""
    try:
        code = cli.main(args)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_rejected(code: int, out: str, err: str, expected: str) -> None:
    """Exit code 2, one line on stderr naming the problem, nothing on stdout."""
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("emigsim: error: ")
    assert expected in lines[0]
    assert "Traceback" not in err
    assert out == ""
