"""The HTML report: one number format, figures shown at a readable size."""

import re

import numpy as np
import pytest

from latentlab.plots.style import ONE_COLUMN, TWO_COLUMN, new_figure
from latentlab.report import HTMLReport
from latentlab.report.html import format_number


@pytest.mark.parametrize("value, expected", [
    (1.0, "1.000"), (0.8917, "0.892"), (-0.0548, "-0.055"), (12519.1064, "12519.106"),
    (-3.469e-17, "0.000"), (-0.0, "0.000"), (-0.0004, "0.000"), (-0.0006, "-0.001"), (0.0, "0.000"),
    (np.float32(0.25), "0.250"), (np.float64(-1e-300), "0.000"),
    (3, "3"), (np.int64(3072), "3072"), (float("nan"), "–"), (float("inf"), "∞"), (-float("inf"), "-∞"),
])
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_format_number_decimals_and_sign():
    assert format_number(6.2951, 1) == "6.3" and format_number(-0.04, 1) == "0.0"
    assert format_number(0.0123, sign=True) == "+0.012" and format_number(-0.0123, sign=True) == "-0.012"
    assert format_number(-1e-9, sign=True) == "0.000"  # neither -0.000 nor +0.000
    assert format_number(2, sign=True) == "+2"
    for bad in (True, "1.0", None):
        with pytest.raises(TypeError, match="real number"):
            format_number(bad)


def cells(page):
    return re.findall(r"<td>(.*?)</td>", page)


def test_table_numbers_share_one_format(tmp_path):
    report = HTMLReport(tmp_path, "t")
    report.section("s").table(["direction", "accuracy", "after", "n"],
                              [["glasses", 1.0, -3.469e-17, 120], ["smile", 0.8917, 0.25, 32], ["age", 1, "", 7]])
    assert cells(report.render()) == ["glasses", "1.000", "0.000", "120", "smile", "0.892", "0.250", "32",
                                      "age", "1", "", "7"]


def test_table_decimals_per_column(tmp_path):
    report = HTMLReport(tmp_path, "t")
    report.section("s").table(["stage", "seconds", "mse"], [["train", 23.318, 0.025941]], decimals=[None, 1, 4])
    assert cells(report.render()) == ["train", "23.3", "0.0259"]
    report.table(["a", "b"], [[0.12345, 2.5]], decimals=2)
    assert cells(report.render())[-2:] == ["0.12", "2.50"]
    with pytest.raises(ValueError, match="decimals has 1 entries for 2 columns"):
        report.table(["a", "b"], [[1.0, 2.0]], decimals=[1])


def shown_widths(page):
    return [int(w) for w in re.findall(r'<figure id="fig-[^"]*" style="[^"]*max-width: (\d+)px', page)]


def test_figures_in_a_row_keep_their_printed_size(tmp_path):
    report = HTMLReport(tmp_path, "t").section("figures")
    for i in range(3):
        report.add_figure(new_figure("one")[0], f"small-{i}", "one column", row=True)
    report.add_figure(new_figure("two", aspect=0.3)[0], "wide", "full width", row=True)
    page = report.render()
    widths = shown_widths(page)
    # shown at 125 px per printed inch (a 7 pt label is 12 px), never squeezed to a share of the row
    assert widths[0] == pytest.approx(ONE_COLUMN * 125, rel=0.1) and widths[3] == pytest.approx(TWO_COLUMN * 125, rel=0.1)
    assert "%" not in "".join(re.findall(r'<figure[^>]*style="([^"]*)"', page))
    for name, width in zip(["small-0", "small-1", "small-2", "wide"], widths):
        assert f'id="fig-{name}" style="flex: 0 1 {width}px; max-width: {width}px"' in page
    # two one-column figures fit side by side on the 1100 px page, with the row's gap (1.5em)
    assert 2 * widths[0] + 1.5 * 15 <= 1100 - 2 * 1.5 * 15
    assert page.count('<div class="row">') == 1
