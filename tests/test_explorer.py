"""The interactive Fig. 2: its frames are the samplers' plans, its table the labels mixup really makes,
and the page draws, for the settings in its URL, the counts `pdds plan` prints (headless Chromium)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from browser import render

from pddslib.cli import main as pdds
from pddslib.paper.explorer import NORMALIZATIONS, P_VALUES, PAIRS_READINGS, SIGMAS, fig2_frames, frame_key
from pddslib.paper.explorer_page import fig2_explorer_html
from pddslib.pdds.counts import CountTable
from pddslib.pdds.registry import make_resampler, plan_for
from pddslib.reference import iemocap_counts


@pytest.fixture(scope="module")
def counts() -> CountTable:
    return iemocap_counts("train")


@pytest.fixture(scope="module")
def frames(counts) -> dict:
    return fig2_frames(counts)


def _plan_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert pdds(["plan", "--reference", "train", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _rows(counts: CountTable) -> tuple[np.ndarray, np.ndarray]:
    """One row per utterance of ``counts``: clear rows one-hot, ambiguous rows 0.6 major / 0.4 minor."""
    c = len(counts.classes)
    cells, y = [], []
    for i in range(c):
        for j in range(c):
            n = int(counts.clear[i]) if i == j else int(counts.ambiguous[i, j])
            row = np.zeros(c)
            row[i] += 0.6 if i != j else 1.0
            row[j] += 0.4 if i != j else 0.0
            cells += [(i, j)] * n
            y += [row] * n
    return np.asarray(cells), np.asarray(y)


@pytest.mark.parametrize("strategy,params,p", [("pdds", {"sigma": 1.0}, 0.8), ("pdds", {"sigma": 2.5, "normalize": "sum"}, 0.55),
                                               ("uniform", {"pairs": "unordered"}, 0.7), ("happiness", {}, 0.5)])
def test_added_label_mass_is_the_mass_of_the_mixed_labels(counts, strategy, params, p):
    """Plan.added_label_mass(p) equals the summed label distributions of the rows a real fit_resample adds."""
    cells, y = _rows(counts)
    kw = {"p": p} if strategy != "happiness" else {}
    sampler = make_resampler(strategy, classes=counts.classes, random_state=0, **params, **kw)
    _, y_res = sampler.fit_resample(np.zeros((len(y), 1)), y, cells=cells)
    added = np.asarray(y_res)[len(y):].sum(axis=0)  # (C,)
    expected = sampler.plan_.added_label_mass(p)
    np.testing.assert_allclose(expected, added, rtol=0, atol=1e-6)  # float sums of the same terms
    assert expected.sum() == pytest.approx(sampler.plan_.new_samples)


def test_added_label_mass_rejects_a_weight_outside_0_1(counts):
    with pytest.raises(ValueError, match=r"mixup weight p must lie in \[0, 1\], got 1.5"):
        plan_for("pdds", counts).added_label_mass(1.5)


def test_frames_cover_every_setting_of_the_controls(frames):
    assert len(frames["pdds"]) == len(SIGMAS) * len(NORMALIZATIONS) == 32
    assert set(frames["uniform"]) == set(PAIRS_READINGS)
    assert len(frames["mass_pdds"]) == 32 * len(P_VALUES)
    assert frames["sigmas"][0] == 0.25 and frames["sigmas"][-1] == 4.0 and frames["level"] == 400
    assert frame_key("none", 1.0) == "none|1" and frame_key("sum", 0.25, 0.8) == "sum|0.25|0.8"


@pytest.mark.parametrize("sigma,normalize", [(0.25, "none"), (1.0, "none"), (2.0, "none"), (1.75, "sum"), (4.0, "sum")])
def test_a_pdds_frame_is_what_pdds_plan_prints(frames, capsys, sigma, normalize):
    cli = _plan_json(capsys, "--sigma", f"{sigma:g}", "--normalize", normalize)
    frame = frames["pdds"][frame_key(normalize, sigma)]
    assert frame["targets"] == cli["targets"]
    assert frame["clear"] == list(cli["balanced_clear"].values())
    assert frame["new_samples"] == cli["new_samples"]


@pytest.mark.parametrize("pairs", PAIRS_READINGS)
def test_a_uniform_frame_is_what_pdds_plan_prints(frames, capsys, pairs):
    cli = _plan_json(capsys, "--strategy", "uniform", "--pairs", pairs, "--level", "400")
    assert frames["uniform"][pairs]["targets"] == cli["targets"]
    assert frames["uniform"][pairs]["new_samples"] == cli["new_samples"]


def test_sigma_changes_the_frames(frames):
    """Not one frame repeated: wider kernels add more samples, and the sum reading adds fewer."""
    news = [frames["pdds"][frame_key("none", s)]["new_samples"] for s in SIGMAS]
    assert news == sorted(news) and news[0] < news[-1]
    assert frames["pdds"]["sum|2"]["new_samples"] < frames["pdds"]["none|2"]["new_samples"]


def test_the_block_inlines_plotly_once_and_loads_nothing(frames):
    page = fig2_explorer_html(frames, "IEMOCAP")
    assert page.count("plotly.js (basic - minified) v") == 1
    assert len(page.encode()) < 1_500_000  # the basic bundle (1.2 MB), not the full build (4.6 MB)
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    data = re.search(r'<script type="application/json" id="pdds-fig2-data">(.*?)</script>', page, flags=re.S)
    assert json.loads(data.group(1))["pdds"] == frames["pdds"]
    glue = page.rsplit("<script>", 1)[1]
    assert "Plotly.restyle" in glue and "Math.exp" not in glue  # the glue picks frames; Eq. (1) is not in it
    second = fig2_explorer_html(frames, uid="second", include_plotlyjs=False)
    assert "plotly.js (basic" not in second and 'id="second-plot"' in second


def test_the_vendored_bundle_is_the_plotly_js_of_the_pinned_plotly_and_draws_every_trace(frames):
    import plotly.offline

    from pddslib.paper.explorer_page import _figure, plotlyjs_basic_version

    assert plotlyjs_basic_version() == plotly.offline.get_plotlyjs_version(), \
        "plotly (Python) was upgraded: refresh the bundle with scripts/vendor-plotly.sh"
    kinds = {trace.type for trace in _figure(frames, "").data}
    assert kinds and kinds <= {"bar", "scatter", "pie"}, f"{kinds}: not all in plotly.js's basic bundle"


def _drawn(dom: str, uid: str = "pdds-fig2") -> dict:
    m = re.search(rf'<pre id="{uid}-drawn"[^>]*>(.*?)</pre>', dom, flags=re.S)
    assert m and m.group(1).strip(), "the page did not draw (no mirrored counts)"
    return json.loads(html.unescape(m.group(1)))


@pytest.fixture(scope="module")
def page(frames, tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorer")
    path = folder / "fig2.html"
    path.write_text("<!doctype html><html><head><meta charset='utf-8'><title>Fig. 2</title></head><body>"
                    + fig2_explorer_html(frames, "IEMOCAP sessions 1-4") + "</body></html>")
    return path


@pytest.mark.parametrize("hash_,args,uniform_args", [
    ("#sigma=2", ["--sigma", "2"], ["--pairs", "ordered"]),
    ("#sigma=0.5&normalize=sum&pairs=unordered&p=0.6", ["--sigma", "0.5", "--normalize", "sum"], ["--pairs", "unordered"]),
])
def test_moving_the_controls_draws_what_pdds_plan_prints(page, capsys, tmp_path, hash_, args, uniform_args):
    """file://, no server, no network: the URL hash moves the controls and fires their input event."""
    dom = render(page.as_uri() + hash_, tmp_path / "profile")
    drawn = _drawn(dom)
    want = _plan_json(capsys, *args)
    assert drawn["pdds"]["targets"] == want["targets"]
    assert drawn["pdds"]["clear"] == want["balanced_clear"]
    uniform = _plan_json(capsys, "--strategy", "uniform", "--level", "400", *uniform_args)
    assert drawn["uniform"]["targets"] == uniform["targets"]
    original = _plan_json(capsys, "--strategy", "none")
    assert drawn["original"]["targets"] == original["targets"]
    assert drawn["pdds"]["targets"] != drawn["original"]["targets"]


def test_the_table_follows_p(page, counts, tmp_path):
    dom = render(page.as_uri() + "#sigma=1&p=0.6", tmp_path / "profile")
    table = re.search(r'<table id="pdds-fig2-mass">(.*?)</table>', dom, flags=re.S).group(1)
    cells = [c for row in re.findall(r"<tr>(.*?)</tr>", table) if (c := re.findall(r"<td>([^<]*)</td>", row))]
    mass = plan_for("pdds", counts, sigma=1.0).added_label_mass(0.6)
    assert [float(r[2]) for r in cells] == pytest.approx(mass, abs=0.051)  # shown with one decimal
    assert _drawn(dom)["settings"] == {"sigma": "1", "normalize": "none", "pairs": "ordered", "p": "0.6"}


@pytest.fixture(scope="module")
def long_page(frames, tmp_path_factory):
    """The block far down a page (as on the book's page, ~5,500 px of text and figures above it); a probe
    writes where the page is scrolled to and its address once everything has run."""
    path = tmp_path_factory.mktemp("explorer-long") / "fig2.html"
    probe = ("<script>window.addEventListener('load', function () { setTimeout(function () {"
             "document.getElementById('probe').textContent = JSON.stringify({y: window.scrollY, hash: location.hash,"
             " top: Math.round(document.getElementById('pdds-fig2').getBoundingClientRect().top)}); }, 2000); });"
             "</script>")
    path.write_text("<!doctype html><html><head><meta charset='utf-8'><title>Fig. 2</title></head><body>"
                    "<div style='height:6000px'>text above the figure</div>"
                    + fig2_explorer_html(frames, "IEMOCAP sessions 1-4") + "<div style='height:3000px'></div>"
                    + "<pre id='probe'></pre>" + probe + "</body></html>")
    return path


def _probe(dom: str) -> dict:
    m = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, flags=re.S)
    assert m and m.group(1).strip(), "the probe did not run"
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.parametrize("hash_", ["#sigma=2&normalize=sum", "#pdds-fig2&sigma=2&normalize=sum", "#p=0.6"])
def test_a_link_with_settings_lands_on_the_figure(long_page, tmp_path, hash_):
    dom = render(long_page.as_uri() + hash_, tmp_path / "profile")
    where = _probe(dom)
    assert where["y"] > 5000 and abs(where["top"]) <= 2, where  # the block at the top of the window
    assert where["hash"].startswith("#sigma=")  # the settings drawn, in the documented form


def test_a_bare_address_stays_at_the_top_and_is_left_alone(long_page, tmp_path):
    dom = render(long_page.as_uri(), tmp_path / "profile")
    where = _probe(dom)
    assert (where["y"], where["hash"]) == (0, "")  # no jump, and no settings written that a reload would follow
    assert _drawn(dom)["settings"] == {"sigma": "1", "normalize": "none", "pairs": "ordered", "p": "0.8"}


def test_the_legend_shows_both_colours(frames):
    from pddslib.paper.explorer_page import _figure
    from pddslib.paper.palette import AMBIGUOUS, CLEAR

    fig = _figure(frames, "")
    shown = {t.name: t.marker.color for t in fig.data if t.showlegend is not False}
    assert shown["clear samples (I, J)"] == CLEAR and shown["ambiguous samples (I>J, J>I)"] == AMBIGUOUS
    n_pairs = len(frames["classes"]) * (len(frames["classes"]) - 1) // 2
    assert [t.type for t in fig.data[:3 * n_pairs]] == ["bar"] * (3 * n_pairs)  # the glue's traces 3q + k first
