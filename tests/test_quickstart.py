"""The quickstart pipeline and its HTML report, on tiny settings (seconds, meaningless models)."""

import html.parser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import latentlab
from latentlab._io import figure_data_paths
from latentlab.cli import cli
from latentlab.report import HTMLReport, QuickstartSettings, run_quickstart
from latentlab.report.browser import find_chromium, screenshot
from latentlab.report.html import format_number

pytestmark = pytest.mark.usefixtures("one_thread")


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.headings, self._in_h2 = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a" and not attrs.get("href", "#").startswith("#"):
            self.links.append(attrs["href"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart")
    lines = []
    result = run_quickstart(folder / "report", models_dir=folder, settings=QuickstartSettings.tiny(), device="cpu",
                            progress=False, log=lines.append)
    return folder, result, lines


def test_report_links_every_figure_with_its_pdf_and_data(quickstart):
    folder, result, lines = quickstart
    page = folder / "report" / "index.html"
    assert result.report == page and page.is_file()
    parsed = _Links()
    parsed.feed(page.read_text())
    for heading in ("Data", "Generators", "Intrinsic dimension", "Attribute directions", "Edits",
                    "Maps between latent spaces", "Next steps"):
        assert heading in parsed.headings
    assert len(parsed.images) >= 12
    for src in parsed.images + parsed.links:
        assert (page.parent / src).is_file(), src
    for src in parsed.images:
        figure = page.parent / src
        assert figure.with_suffix(".pdf").is_file()
        assert any(data.is_file() for data in figure_data_paths(figure)[:2])
    # progress: one announced line per stage, numbered to the end
    stages = [line for line in lines if line.startswith("[")]
    assert stages[0].startswith("[1/8]") and stages[-1].startswith("[8/8]")


def test_report_numbers_come_from_the_run(quickstart):
    folder, result, _ = quickstart
    page = (folder / "report" / "index.html").read_text()
    ids = result.numbers["id"]
    assert {"faces (pixels) / twonn", "VAE codes of faces / mle", "GAN samples / twonn", "DDPM samples / mle"} <= set(ids)
    # the VAE's codes live in 16 dimensions: their ID cannot exceed that by more than estimator noise
    assert 0 < ids["VAE codes of faces / twonn"] < 16 * 1.5
    assert f"<td>{format_number(ids['faces (pixels) / twonn'], 2)}</td>" in page  # the ID column's two decimals
    cos_before, cos_after = result.numbers["glasses_age_cosine"]
    assert abs(cos_after) < 1e-6  # glasses|age is orthogonal to age by construction
    m = result.numbers["map"]
    assert {"affine", "ridge"} <= set(m) and np.isfinite(m["affine"]["M_mse"])
    saved = latentlab.LatentMap.load(folder / "report" / "gan2vae.npz")
    assert saved.kind == "affine"


def test_models_are_left_for_the_cli(quickstart, monkeypatch):
    folder, result, _ = quickstart
    kinds = {role: type(latentlab.load(path)).__name__ for role, path in result.models.items()}
    assert kinds == {"vae": "VAE", "gan": "GAN", "ddpm": "DDPM", "classifier": "AttributeClassifier"}
    assert all(Path(p).parent == folder for p in result.models.values())
    monkeypatch.chdir(folder)
    runner = CliRunner()
    mapped = runner.invoke(cli, ["map", "--src", "gan.pt", "--dst", "vae.pt", "--support", "40", "--test", "10", "--quiet"])
    assert mapped.exit_code == 0, mapped.output
    assert "R  destination reconstruction" in mapped.output and Path("map.npz").is_file()
    found = runner.invoke(cli, ["direction", "--attr", "glasses", "--model", "vae.pt", "--labels-from", "data", "--n", "200"])
    assert found.exit_code == 0, found.output
    assert Path("glasses.npz").is_file()


def test_nothing_is_overwritten_without_force(quickstart, tmp_path, monkeypatch):
    folder, _, _ = quickstart
    monkeypatch.chdir(folder)
    before = {p: p.stat().st_mtime_ns for p in folder.glob("*.pt")}
    result = CliRunner().invoke(cli, ["quickstart", "--tiny", "--quiet", "--models-dir", ".", "--out", "report"])
    assert result.exit_code == 2
    assert "--force" in result.output and len(result.output.strip().splitlines()) == 1
    assert before == {p: p.stat().st_mtime_ns for p in folder.glob("*.pt")}


def test_settings_are_validated():
    with pytest.raises(ValueError, match="direction_model"):
        QuickstartSettings(direction_model="ddpm")
    with pytest.raises(ValueError, match="labels_from='data' needs direction_model='vae'"):
        QuickstartSettings(labels_from="data")


def test_html_report_escapes_text_and_formats_tables(tmp_path):
    report = HTMLReport(tmp_path, "a <title>")
    with pytest.raises(ValueError, match="start a section"):
        report.text("orphan")
    report.section("Numbers & words").text("x < y with `code`").table(["name", "value"], [["nan", float("nan")], ["pi", 3.14159265]])
    page = report.write().read_text()
    assert "a &lt;title&gt;" in page and "x &lt; y with <code>code</code>" in page
    assert "<td>3.142</td>" in page and "<td>–</td>" in page
    with pytest.raises(FileExistsError):
        HTMLReport(tmp_path, "again").section("s").write()


@pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_report_renders_in_chromium(quickstart, tmp_path):
    from PIL import Image

    folder, result, _ = quickstart
    shot = screenshot(result.report, tmp_path / "page.png", width=1200, height=2400)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (2400, 1200)
    # a rendered page with figures: most of it white background, yet plenty of ink in every third of it
    assert (pixels > 250).mean() > 0.5
    for third in np.array_split(pixels, 3):
        assert (third < 200).mean() > 0.01


def test_every_figure_redraws_from_its_data_file(quickstart):
    from latentlab.plots import figure_data, redraw

    folder, _, _ = quickstart
    files = sorted((folder / "report" / "figures").glob("*.data.npz")) + sorted((folder / "report" / "figures").glob("*.data.csv"))
    assert len(files) >= 12
    for path in files:
        assert figure_data(redraw(path)), path
