"""The arguments the commands share: strict dates, seconds, and one-line usage errors."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from helios_async.cli import main
from helios_async.cli._args import EXIT_INVALID, parse_date

CHECK = ["check", "r.wav", "--user-label", "u", "--birth-sex", "male", "--language", "en-GB"]
BATCH = ["batch", "m.csv", "--out", "o.jsonl"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*CHECK, "--date-of-birth", "19900824"], "not a YYYY-MM-DD date: '19900824'"),
        ([*CHECK, "--date-of-birth", "1990-02-30"], "not a YYYY-MM-DD date: '1990-02-30'"),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--deadline", "0"], "above 0: '0'"),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--deadline", "inf"], "above 0: 'inf'"),
        ([*BATCH, "--deadline", "soon"], "above 0: 'soon'"),
        ([*BATCH, "--sandbox-delay", "-1"], "seconds, 0 or more: '-1'"),
        ([*BATCH, "--sandbox-delay", "nan"], "seconds, 0 or more: 'nan'"),
        (["batch", "m.csv"], "the following arguments are required: --out"),
    ],
)
def test_a_bad_argument_is_one_line_on_stderr_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv, out=io.StringIO())
    assert exited.value.code == EXIT_INVALID
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    assert err[0].endswith("(see --help)")


def test_dates_are_read_strictly_as_yyyy_mm_dd() -> None:
    assert parse_date("1990-08-24") == dt.date(1990, 8, 24)
    for text in ("19900824", "1990-8-24", "1990-02-30", " 1990-08-24"):
        with pytest.raises(ValueError, match=r"YYYY-MM-DD|day is out of range"):
            parse_date(text)
