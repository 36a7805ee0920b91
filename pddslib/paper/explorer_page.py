"""The interactive Fig. 2 as one self-contained HTML block: plotly inlined, controls, a little glue.

Everything shown comes from :func:`pddslib.paper.explorer.fig2_frames`: the glue below only reads the
controls, picks the precomputed frame for them and hands its numbers to ``Plotly.restyle`` and to the
table. It works offline and from ``file://``: plotly.js is inlined, once per block, as its basic
bundle (bar, scatter and pie traces; 1.2 MB against the full build's 4.6 MB), vendored in
``pddslib/paper/vendor/plotly`` at the version the pinned plotly (Python) writes figures for.

The page can be driven by its URL hash, ``#sigma=2&normalize=sum&pairs=unordered&p=0.7`` (any subset):
the controls take those values and fire their ``input`` event, as a reader's hand would, and the page
scrolls to the block (also for ``#pdds-fig2&sigma=2...``: the block's id, then settings); the hash
follows the controls once they move, so a setting can be shared as a link. What the figure draws is mirrored, as
JSON, in the hidden ``<pre id="...-drawn">`` (what the browser test reads).
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..pdds.labels import CLASS_NAMES
from .explorer import frame_key
from .palette import AMBIGUOUS, CLEAR, UNIFORM

DEFAULTS = {"sigma": 1.0, "normalize": "none", "pairs": "ordered", "p": 0.8}
_KERNELS = {"none": "peak 1 (Eq. 1 as written)", "sum": "weights sum to 1"}


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _chain(frame: dict[str, Any], cl: list[str], i: int, j: int) -> list[int]:
    """``[I, I_j, J_i, J]`` of one pair in a plan frame (the bars of one panel)."""
    return [frame["clear"][i], frame["targets"][f"{cl[i]}>{cl[j]}"], frame["targets"][f"{cl[j]}>{cl[i]}"],
            frame["clear"][j]]


def _figure(frames: dict[str, Any], title: str) -> Any:
    from plotly.subplots import make_subplots

    cl = frames["classes"]
    pairs = _pairs(len(cl))
    ncols = 5
    nrows = -(-len(pairs) // ncols)
    names = [f"{CLASS_NAMES.get(cl[i], cl[i])} – {CLASS_NAMES.get(cl[j], cl[j])}" for i, j in pairs]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=names, shared_yaxes=True,
                        horizontal_spacing=0.02, vertical_spacing=0.14)
    start = {"before": frames["before"], "pdds": frames["pdds"][frame_key(DEFAULTS["normalize"], DEFAULTS["sigma"])],
             "uniform": frames["uniform"][DEFAULTS["pairs"]]}
    series = {"before": ("original", 0.35, None), "pdds": ("after PDDS", 1.0, None),
              "uniform": ("uniform ablation", 0.75, UNIFORM)}
    for q, (i, j) in enumerate(pairs):
        x = [cl[i].upper(), f"{cl[i]}>{cl[j]}", f"{cl[j]}>{cl[i]}", cl[j].upper()]
        for name, (label, opacity, colour) in series.items():  # traces 3q, 3q + 1, 3q + 2
            colours = colour or [CLEAR, AMBIGUOUS, AMBIGUOUS, CLEAR]
            fig.add_bar(x=x, y=_chain(start[name], cl, i, j), name=label, legendgroup=name, showlegend=q == 0,
                        marker={"color": colours, "opacity": opacity}, row=q // ncols + 1, col=q % ncols + 1,
                        hovertemplate="%{x}: %{y}<extra>" + label + "</extra>")
    # the title starts below the mode bar (zoom, download: about 30 px at the top right), not under it
    fig.update_layout(title={"text": title, "font": {"size": 14}, "y": 1, "yref": "container", "yanchor": "top",
                             "pad": {"t": 36}}, barmode="group",
                      bargap=0.15, height=250 * nrows + 160, margin={"l": 50, "r": 20, "t": 130, "b": 40},
                      legend={"orientation": "h", "y": 1.04, "yanchor": "bottom", "x": 0}, template="plotly_white",
                      uirevision="pdds")
    # the bars' colours, which the series' legend entries (one colour each) cannot show: two legend-only
    # entries after every bar trace (the glue's trace numbers 3q + k stay as they are)
    for label, colour in (("clear samples (I, J)", CLEAR), ("ambiguous samples (I>J, J>I)", AMBIGUOUS)):
        fig.add_scatter(x=[None], y=[None], mode="markers", name=label, legendgroup="colours",
                        marker={"color": colour, "symbol": "square", "size": 12}, hoverinfo="skip",
                        row=1, col=1)
    fig.update_yaxes(matches="y")  # one count scale for every panel, as the paper's Fig. 2
    fig.update_xaxes(tickangle=45, tickfont={"size": 9})
    fig.update_annotations(font_size=11)
    return fig


def _controls(uid: str, frames: dict[str, Any]) -> str:
    sig = [frame_key(s) for s in frames["sigmas"]]
    ps = [frame_key(p) for p in frames["p_values"]]
    s0, p0 = sig.index(frame_key(DEFAULTS["sigma"])), ps.index(frame_key(DEFAULTS["p"]))
    kernels = "".join(f'<label><input type="radio" name="normalize" value="{n}"{" checked" * (n == "none")}> '
                      f'{html.escape(_KERNELS.get(n, n))}</label>' for n in frames["normalizations"])
    pairs = "".join(f'<label><input type="radio" name="pairs" value="{n}"{" checked" * (n == "ordered")}> {n}</label>'
                    for n in frames["pairs"])
    return f"""<form class="pdds-controls" id="{uid}-controls" onsubmit="return false">
<label>&sigma; <input type="range" name="sigma" min="0" max="{len(sig) - 1}" step="1" value="{s0}">
<output name="sigma_value">{sig[s0]}</output></label>
<fieldset><legend>kernel (Eq. 1)</legend>{kernels}</fieldset>
<fieldset><legend>uniform ablation: pairs</legend>{pairs}</fieldset>
<label>p <input type="range" name="p" min="0" max="{len(ps) - 1}" step="1" value="{p0}">
<output name="p_value">{ps[p0]}</output></label>
</form>"""


_STYLE = """<style>
.pdds-explorer form{display:flex;flex-wrap:wrap;gap:.6em 1.6em;align-items:center;margin:.5em 0}
.pdds-explorer fieldset{border:1px solid #ddd;padding:.2em .6em;margin:0}
.pdds-explorer legend{font-size:.85em;padding:0 .3em}
.pdds-explorer output{display:inline-block;min-width:2.5em;font-weight:bold}
.pdds-explorer table{border-collapse:collapse;margin:.5em 0}
.pdds-explorer td,.pdds-explorer th{padding:.15em .7em;text-align:right;border-bottom:1px solid #eee}
.pdds-explorer td:first-child,.pdds-explorer th:first-child{text-align:left}
</style>"""

# The glue: read the controls, pick the frame, restyle, fill the table, mirror what is drawn.
_GLUE = r"""
(function () {
  "use strict";
  var uid = "__UID__";
  var data = JSON.parse(document.getElementById(uid + "-data").textContent);
  var form = document.getElementById(uid + "-controls");
  var gd = document.getElementById(uid + "-plot");
  var cl = data.classes, pairs = data.pair_index;
  function checked(name) { return form.querySelector("input[name=" + name + "]:checked").value; }
  function settings() {
    return {sigma: data.sigma_keys[+form.sigma.value], normalize: checked("normalize"),
            pairs: checked("pairs"), p: data.p_keys[+form.p.value]};
  }
  function chain(frame, q) {
    var i = pairs[q][0], j = pairs[q][1];
    return [frame.clear[i], frame.targets[cl[i] + ">" + cl[j]], frame.targets[cl[j] + ">" + cl[i]], frame.clear[j]];
  }
  function drawn(offset) {  // read back from the figure what it shows (trace 3q + offset of pair q)
    var out = {clear: {}, targets: {}};
    pairs.forEach(function (ij, q) {
      var y = gd.data[3 * q + offset].y, a = cl[ij[0]], b = cl[ij[1]];
      out.clear[a] = y[0]; out.targets[a + ">" + b] = y[1]; out.targets[b + ">" + a] = y[2]; out.clear[b] = y[3];
    });
    return out;
  }
  function table(s) {
    var mp = data.mass_pdds[s.normalize + "|" + s.sigma + "|" + s.p], mu = data.mass_uniform[s.pairs + "|" + s.p];
    var nc = data.pdds[s.normalize + "|" + s.sigma].new_clear;
    var rows = cl.map(function (c, k) {
      return "<tr><td>" + data.names[k] + "</td><td>" + nc[k] + "</td><td>" + mp[k].toFixed(1) +
             "</td><td>" + mu[k].toFixed(1) + "</td></tr>";
    });
    return "<thead><tr><th>emotion</th><th>new clear samples</th><th>label mass added, PDDS</th>" +
           "<th>label mass added, uniform</th></tr></thead><tbody>" + rows.join("") + "</tbody>";
  }
  function update(ev) {
    var s = settings(), key = s.normalize + "|" + s.sigma;
    var pd = data.pdds[key], un = data.uniform[s.pairs], ys = [], idx = [];
    pairs.forEach(function (ij, q) {
      ys.push(chain(pd, q)); idx.push(3 * q + 1); ys.push(chain(un, q)); idx.push(3 * q + 2);
    });
    form.sigma_value.value = s.sigma;
    form.p_value.value = s.p;
    var w = data.kernel[key];
    document.getElementById(uid + "-summary").textContent =
      "Kernel weights " + w.join(", ") + ": PDDS adds " + pd.new_samples + " samples, the uniform ablation (" +
      s.pairs + " pairs, level " + data.level + ") " + un.new_samples + ".";
    document.getElementById(uid + "-mass").innerHTML = table(s);
    if (ev) {  // a control moved (or the address gave settings): the address follows; not on a bare first draw
      history.replaceState(null, "", "#sigma=" + s.sigma + "&normalize=" + s.normalize + "&pairs=" + s.pairs +
                           "&p=" + s.p);
    }
    return Plotly.restyle(gd, {y: ys}, idx).then(function () {
      var out = document.getElementById(uid + "-drawn");
      out.textContent = JSON.stringify({settings: s, pdds: drawn(1), uniform: drawn(2), original: drawn(0)});
      out.setAttribute("data-settings", [s.sigma, s.normalize, s.pairs, s.p].join("|"));
    });
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  function fromHash() {  // "#sigma=2&normalize=sum": set each control, then fire input as a hand would
    var h = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var m = kv.split("="); if (m.length === 2) { h[decodeURIComponent(m[0])] = decodeURIComponent(m[1]); }
    });
    var moved = null;
    if ("sigma" in h && data.sigma_keys.indexOf(h.sigma) >= 0) {
      form.sigma.value = data.sigma_keys.indexOf(h.sigma); moved = form.sigma;
    }
    if ("p" in h && data.p_keys.indexOf(h.p) >= 0) { form.p.value = data.p_keys.indexOf(h.p); moved = moved || form.p; }
    ["normalize", "pairs"].forEach(function (name) {
      var box = form.querySelector("input[name=" + name + "][value='" + h[name] + "']");
      if (box) { box.checked = true; moved = moved || box; }
    });
    if (moved) {
      moved.dispatchEvent(new Event("input", {bubbles: true}));
      reveal();
    } else {
      update();
      if (location.hash.replace(/^#/, "").split("&").indexOf(uid) >= 0) { reveal(); }
    }
  }
  function reveal() {  // settings in the address: show the figure (the browser finds no element named "sigma=...")
    var box = document.getElementById(uid);
    box.scrollIntoView({block: "start"});
    if (document.readyState !== "complete") {  // images above it may still move it down: once more when all are in
      window.addEventListener("load", function () { box.scrollIntoView({block: "start"}); }, {once: true});
    }
  }
  (function start() { if (gd.data && gd._fullLayout) { fromHash(); } else { setTimeout(start, 30); } })();
})();
"""


def plotlyjs_basic() -> str:
    """The vendored plotly.js basic bundle (``pddslib/paper/vendor/plotly/plotly-basic.min.js``), as text.

    Raises
    ------
    FileNotFoundError
        When the bundle is missing from the installed package (naming the path and how to refresh it).
    """
    from importlib.resources import files

    path = files("pddslib.paper") / "vendor" / "plotly" / "plotly-basic.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the vendored plotly.js basic bundle is missing (scripts/vendor-plotly.sh "
                                f"writes it; pyproject.toml's package-data must include it)")
    return path.read_text(encoding="utf-8")


def plotlyjs_basic_version() -> str:
    """The version in the vendored bundle's header (``plotly.js (basic - minified) vX.Y.Z``)."""
    import re

    head = plotlyjs_basic()[:400]
    found = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", head)
    if found is None:
        raise ValueError(f"the vendored plotly.js bundle has no version header (expected 'plotly.js (basic - "
                         f"minified) vX.Y.Z' in its first lines): {head[:120]!r}")
    return found.group(1)


def _json_script(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


def fig2_explorer_html(frames: dict[str, Any], title: str = "", uid: str = "pdds-fig2",
                       include_plotlyjs: bool = True) -> str:
    """The interactive Fig. 2 (controls, figure, added-mass table) as an HTML block.

    Parameters
    ----------
    frames : dict
        :func:`pddslib.paper.explorer.fig2_frames` of some counts.
    title : str
        Figure title.
    uid : str
        Id prefix of the block's elements (one block per id on a page).
    include_plotlyjs : bool
        Inline plotly.js (the basic bundle, 1.2 MB: :func:`plotlyjs_basic`) before the block; give False for a
        second block on the same page.

    Returns
    -------
    str
        HTML: works offline and from ``file://``.
    """
    import plotly.io as pio

    cl = frames["classes"]
    page = {**frames, "names": [CLASS_NAMES.get(c, c) for c in cl], "pair_index": _pairs(len(cl)),
            "sigma_keys": [frame_key(s) for s in frames["sigmas"]],
            "p_keys": [frame_key(p) for p in frames["p_values"]]}
    plot = pio.to_html(_figure(frames, title), include_plotlyjs=False, full_html=False, div_id=f"{uid}-plot",
                       config={"displaylogo": False, "responsive": True})
    lib = ""
    if include_plotlyjs:  # MathJaxConfig local: plotly leaves the page's MathJax alone
        lib = ("<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
               f"<script>{plotlyjs_basic()}</script>\n")
    return (f'{_STYLE}\n<div class="pdds-explorer" id="{uid}">\n{_controls(uid, frames)}\n'
            f'<p id="{uid}-summary"></p>\n{lib}{plot}\n<table id="{uid}-mass"></table>\n'
            f'<pre id="{uid}-drawn" hidden></pre>\n'
            f'<script type="application/json" id="{uid}-data">{_json_script(page)}</script>\n'
            f'<script>{_GLUE.replace("__UID__", uid)}</script>\n</div>')
