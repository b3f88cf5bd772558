r"""The posterior: calibrated parameter sets that runs draw from, one per replicate.

A posterior file is a CSV with a header line ``draw,<param>,<param>,...`` and one row per
draw (an equally weighted sample, as a calibration writes it)::

    draw,asc_emigrate,b_compatriot
    0,-7.1,0.42
    1,-7.3,0.51

``draw`` is the row's 0-based index (0, 1, 2, ... in order); every other column is a
parameter of :data:`model.params.REGISTRY` and every value lies inside its bounds (whole
numbers for ``int`` and ``year`` parameters), so a draw is always a valid parameter set.
Parameters the file does not name keep their registry defaults.
The rows must be in random order (a shuffled sample, as an ABC-SMC population resampled
to equal weights is): a batch of ``R`` replicates uses the first ``R`` rows, so a file
sorted by any parameter or by distance would give biased bands.

How runs use it (:func:`model.runs.batch.replicate_specs`):

* replicate ``r`` (0-based; the ``replicate`` column shows ``r + 1``) takes draw
  ``r mod n_draws``: more replicates than draws wrap around to draw 0 again (with a
  notice), so two replicates can then share a parameter set but never a seed;
* every scenario of a comparison takes the same draw for the same replicate, so paired
  differences stay paired (the same parameters and the same random numbers);
* a parameter the scenario sets explicitly (its file's ``[params]``, or a value a Python
  :class:`~model.scenario.Scenario` holds away from the registry default) wins over the
  draw: scenario assumptions are what the user asked for.

The default posterior is ``calibration/posterior/kz_2012_2018.csv`` in the repository,
found next to the ``model`` package the way the shipped ``scenarios/`` are
(:func:`default_posterior_path`). It is deliberately not a copy under ``model/data/``:
one file cannot drift from its twin, and ``model/data/`` is hashed whole into the code
version, so a new posterior would otherwise make every stored run, even those made
without it, look like other model code. A run's id carries the posterior's sha256 and
the draw index instead. While the file does not exist, runs use the registry defaults
with a one-line notice.

Bad files raise :class:`PosteriorError` (a :class:`~model.scenario.ScenarioError`: the
command line exits with 2) with one line naming the file, the line or column, and what
is allowed.

Examples
--------
>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "post.csv"
>>> _ = p.write_text("draw,age_peak\n0,30\n1,40\n")
>>> post = load_posterior(p)
>>> post.n_draws, post.names, post.draw(0), post.draw(3)
(2, ('age_peak',), {'age_peak': 30.0}, {'age_peak': 40.0})
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

from model.params import REGISTRY, ParamError, defaults, suggest, validate_params
from model.scenario import Scenario, ScenarioError, input_error

__all__ = ["Posterior", "PosteriorError", "PosteriorNotice", "DEFAULT_POSTERIOR",
           "default_posterior_path", "load_posterior", "resolve_posterior",
           "explicit_params", "apply_draw", "wrap_notice", "NO_POSTERIOR_MISSING",
           "NO_POSTERIOR_REQUESTED"]

DEFAULT_POSTERIOR = Path("calibration") / "posterior" / "kz_2012_2018.csv"
"""The shipped posterior, relative to the repository root."""

NO_POSTERIOR_MISSING = "none (file missing)"
"""What the manifest's ``posterior`` says when the default posterior does not exist."""
NO_POSTERIOR_REQUESTED = "none (registry defaults requested)"
"""What the manifest's ``posterior`` says for ``--no-posterior`` (``posterior=None``)."""

_ALLOWED_FILE = ("a CSV with the header draw,<parameter>,... and one row per draw "
                 "(see model/posterior.py)")


class PosteriorError(ScenarioError):
    """A posterior file is missing or invalid; the message is one line naming file and key."""


class PosteriorNotice(UserWarning):
    """Something a user should know about a run's posterior (missing file, wrap-around)."""


@dataclass(frozen=True)
class Posterior:
    """A validated posterior sample.

    Attributes
    ----------
    path : Path
        The file it was read from.
    sha256 : str
        SHA-256 of the file's bytes (part of every run id made with it).
    names : tuple of str
        The parameter columns, in file order.
    rows : tuple of tuple
        The validated values, one tuple per draw (ints for whole-number parameters).

    Examples
    --------
    >>> post = Posterior(Path("p.csv"), "ab", ("age_peak",), ((30.0,), (40.0,)))
    >>> post.index(5), post.draw(5)
    (1, {'age_peak': 40.0})
    """

    path: Path
    sha256: str
    names: tuple[str, ...]
    rows: tuple[tuple, ...]

    @property
    def n_draws(self) -> int:
        """Number of draws (rows)."""
        return len(self.rows)

    def index(self, r: int) -> int:
        """The draw replicate ``r`` (0-based) takes: ``r mod n_draws``."""
        return int(r) % self.n_draws

    def draw(self, r: int) -> dict[str, float]:
        """The parameter values of replicate ``r`` (draw ``r mod n_draws``)."""
        return dict(zip(self.names, self.rows[self.index(r)], strict=True))

    def record(self, draws: list[int]) -> dict:
        """What the manifest records: path, sha256, draws, the draws used and their values.

        ``values`` maps each draw used (as text, a JSON key) to its row, in the order of
        ``parameters``: the manifest alone then says what every replicate ran with, even
        after the file is replaced (``emigsim fit`` reads the residual terms from it).

        Examples
        --------
        >>> Posterior(Path("p.csv"), "ab", ("x",), ((1.0,),)).record([0, 0])
        ... # doctest: +NORMALIZE_WHITESPACE
        {'path': 'p.csv', 'sha256': 'ab', 'n_draws': 1, 'parameters': ['x'], 'draws': [0, 0],
         'values': {'0': [1.0]}}
        """
        used = sorted({int(d) for d in draws})
        return {"path": str(self.path), "sha256": self.sha256, "n_draws": self.n_draws,
                "parameters": list(self.names), "draws": [int(d) for d in draws],
                "values": {str(d): [float(v) for v in self.rows[d]] for d in used}}


def default_posterior_path() -> Path:
    """The shipped posterior: :data:`DEFAULT_POSTERIOR` under the repository root.

    Examples
    --------
    >>> default_posterior_path().name
    'kz_2012_2018.csv'
    """
    return Path(__file__).resolve().parent.parent / DEFAULT_POSTERIOR


def _error(where: str, key: str | None, problem: str, allowed: str,
           hint: str = "") -> PosteriorError:
    return PosteriorError(str(input_error(where, key, problem, allowed, hint)))


def _number(text: str, where: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _error(where, key, f"= {text!r} is not a number",
                     "a number inside the parameter's bounds ('emigsim params')") from None
    return value


def load_posterior(path: str | Path) -> Posterior:
    r"""Read and validate a posterior file (format: module docstring).

    Raises
    ------
    PosteriorError
        For a missing or unreadable file, a first column other than ``draw``, an unknown
        or repeated parameter column, no parameter column, no row, a row of the wrong
        length, a ``draw`` that is not the row's index, a value that is not a number, out
        of bounds, not whole for an ``int`` or ``year`` parameter, or breaking an order
        of the registry (``abroad_student_min_age <= abroad_student_max_age``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.csv"
    >>> _ = p.write_text("draw,age_pek\n0,30\n")
    >>> load_posterior(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.posterior.PosteriorError: ...bad.csv: key 'age_pek' is not a parameter; ...
    """
    path = Path(path)
    where = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(where, None, "file not found", f"{_ALLOWED_FILE}, or --no-posterior "
                     "for the registry defaults") from None
    except OSError as exc:
        raise _error(where, None, f"cannot be read ({exc.strerror})", _ALLOWED_FILE) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _error(where, None, "is not UTF-8 text", _ALLOWED_FILE) from None
    try:
        lines = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
                 if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise _error(where, None, f"is not valid CSV ({exc})", _ALLOWED_FILE) from None
    if not lines:
        raise _error(where, None, "is empty", f"{_ALLOWED_FILE}, with at least one row")
    header = [cell.strip() for cell in lines[0][1]]
    if header[0] != "draw":
        raise _error(where, "column 1", f"= {header[0]!r} is not 'draw'",
                     "'draw' as the first column, then parameter names")
    names = header[1:]
    if not names:
        raise _error(where, None, "has no parameter column",
                     "at least one column named after a parameter ('emigsim params')")
    for i, name in enumerate(names, start=2):
        if name not in REGISTRY:
            raise _error(where, name, "is not a parameter", "a name listed by 'emigsim params'",
                         suggest(name, REGISTRY))
        if name in names[: i - 2]:
            raise _error(where, name, f"is column {i} and an earlier one too",
                         "each parameter once")
    if len(lines) == 1:
        raise _error(where, None, "has no draws (only a header)", "at least one row")
    rows = []
    for index, (line, row) in enumerate(lines[1:]):
        at = f"{where}, line {line}"
        if len(row) != len(header):
            raise _error(at, None, f"has {len(row)} fields", f"{len(header)} (as the header)")
        draw = _number(row[0], at, "draw")
        if draw != index:
            raise _error(at, "draw", f"= {row[0].strip()!r} is not the row's index {index}",
                         "draws numbered 0, 1, 2, ... in row order")
        values = {name: _number(cell, at, name) for name, cell in zip(names, row[1:],
                                                                       strict=True)}
        try:
            full = validate_params(values)
        except ParamError as exc:
            raise _error(at, exc.key, exc.problem, exc.allowed.removeprefix("allowed: ")) \
                from None
        rows.append(tuple(full[name] for name in names))
    return Posterior(path, hashlib.sha256(data).hexdigest(), tuple(names), tuple(rows))


def resolve_posterior(posterior: str | Path | Posterior | None = "default"
                      ) -> tuple[Posterior | None, str, str | None]:
    """The posterior a batch uses, what the manifest says without one, and a notice.

    Parameters
    ----------
    posterior : "default", None, path or Posterior
        ``"default"``: the shipped posterior (:func:`default_posterior_path`), or the
        registry defaults with a notice while that file does not exist; None: the registry
        defaults (``--no-posterior``); a path: that file, which must exist.

    Returns
    -------
    tuple
        ``(posterior or None, manifest text when None, notice or None)``.

    Examples
    --------
    >>> resolve_posterior(None)
    (None, 'none (registry defaults requested)', None)
    """
    if posterior is None:
        return None, NO_POSTERIOR_REQUESTED, None
    if isinstance(posterior, Posterior):
        return posterior, "", None
    if isinstance(posterior, str) and posterior == "default":
        path = default_posterior_path()
        if not path.is_file():
            return None, NO_POSTERIOR_MISSING, (
                f"no posterior at {DEFAULT_POSTERIOR} yet: runs use the registry defaults "
                "(--no-posterior says so explicitly)")
        return load_posterior(path), "", None
    return load_posterior(posterior), "", None


def wrap_notice(posterior: Posterior, replicates: int) -> str | None:
    """The notice for more replicates than draws (they wrap around), else None.

    Examples
    --------
    >>> wrap_notice(Posterior(Path("p.csv"), "ab", ("x",), ((1.0,), (2.0,))), 3)
    'p.csv has 2 draws for 3 replicates: replicate r takes draw r mod 2, so draws repeat'
    """
    if replicates <= posterior.n_draws:
        return None
    return (f"{posterior.path} has {posterior.n_draws} draws for {replicates} replicates: "
            f"replicate r takes draw r mod {posterior.n_draws}, so draws repeat")


def explicit_params(scenario: Scenario) -> set[str]:
    """The parameters a scenario sets explicitly (they win over a posterior draw).

    Those its file chain names (``overrides``, even at the default value) and those whose
    value differs from the registry default (a Scenario built in Python with ``params``).

    Examples
    --------
    >>> from model.params import defaults
    >>> sorted(explicit_params(Scenario(params={**defaults(), "age_peak": 30.0},
    ...                                 overrides={"b_compatriot": 0.0})))
    ['age_peak', 'b_compatriot']
    """
    base = defaults()
    return set(scenario.overrides) | {k for k, v in scenario.params.items() if v != base.get(k)}


def apply_draw(scenario: Scenario, values: dict[str, float], where: str = "posterior"
               ) -> Scenario:
    """The scenario with a draw's values, except the parameters it sets explicitly.

    ``overrides`` is kept as it was (it says what the scenario file set).

    Raises
    ------
    PosteriorError
        When the draw and the scenario's own values together break an order of the
        registry (``where`` names the file and draw in the message).

    Examples
    --------
    >>> s = Scenario(overrides={"age_peak": 35.0})
    >>> d = apply_draw(s, {"age_peak": 30.0, "age_width": 9.0})
    >>> d.params["age_peak"], d.params["age_width"]
    (35.0, 9.0)
    """
    explicit = explicit_params(scenario)
    merged = {k: v for k, v in values.items() if k not in explicit}
    merged.update({k: scenario.params[k] for k in explicit})
    try:
        params = validate_params(merged)
    except ParamError as exc:
        raise _error(f"{where} with scenario {scenario.name!r}", exc.key, exc.problem,
                     exc.allowed.removeprefix("allowed: ")) from None
    return replace(scenario, params=params)
