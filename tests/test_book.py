"""The notebooks run under papermill, the book builds with warnings as errors, and the rendered
pages work in a browser (headless Chromium): figures and tables shown, math typeset, no traceback.

The book is built in a temporary copy of ``book/`` from notebooks executed with quick parameters
on the demo corpus, so the repository's own ``book/results`` and ``book/_build`` are untouched.
Screenshots of every page are kept in ``$PDDS_SCREENSHOTS`` when that is set.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from browser import render

from pddslib.paper.batch import toc_notebooks

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = tuple(nb.stem for nb in toc_notebooks(REPO / "_toc.yml"))  # the book's executed pages, in order
ARTIFACTS = {  # page -> what the rendered page must show
    "results/data_distribution": {"figures": 4, "tables": 3},
    "results/table1": {"figures": 1, "tables": 1},
    "results/power": {"figures": 1, "tables": 2},
    "results/table2": {"figures": 1, "tables": 1},
    "results/fig5": {"figures": 2, "tables": 1},
    "results/fig6": {"figures": 1, "tables": 1},
    "results/readings": {"figures": 1, "tables": 4},
    "results/crema_d": {"figures": 3, "tables": 4},
}
PAGES = ["intro", "method", *ARTIFACTS, "reproduce", "own_corpus", "decisions", "references"]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    """Execute every notebook (quick) into a copy of book/, then `jb build` it with -W."""
    root = tmp_path_factory.mktemp("site")
    book = root / "book"
    shutil.copytree(REPO / "book", book, symlinks=False,
                    ignore=shutil.ignore_patterns("_build", "results", "notebooks"))
    (book / "results").mkdir()
    env = dict(os.environ)
    env.setdefault("PDDS_CACHE", str(root / "cache"))
    for nb in NOTEBOOKS:
        out = book / "results" / f"{nb}.ipynb"
        r = _run([str(BIN / "papermill"), str(REPO / "notebooks" / f"{nb}.ipynb"), str(out), "-k", "python3",
                  "-p", "quick", "True", "--log-level", "WARNING"], env=env, cwd=root)
        assert r.returncode == 0, f"papermill {nb} failed:\n{r.stderr[-4000:]}"
    r = _run([str(BIN / "jb"), "build", str(book), "-W", "-n", "--keep-going"], env=env, cwd=root)
    assert r.returncode == 0, f"jb build failed:\n{r.stdout[-6000:]}\n{r.stderr[-2000:]}"
    return book / "_build" / "html"


def test_every_notebook_says_which_data_it_shows(built_book):
    for nb in NOTEBOOKS:
        data = json.loads((built_book.parents[1] / "results" / f"{nb}.ipynb").read_text())
        outputs = [o for c in data["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        html = " ".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
        if nb == "data_distribution":  # default source: the real, packaged IEMOCAP counts
            assert "IEMOCAP sessions 1,2,3,4 (packaged counts)" in html
        elif nb == "crema_d":  # the CREMA-D demo: real votes, generated audio
            assert "Synthetic demo data" in html and "synthetic audio" in html and "not comparable to the" in html
        else:
            assert "Synthetic demo data" in html and "not comparable to the" in html
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert not errors


def test_papermill_documents_every_parameter():
    for nb in NOTEBOOKS:
        path = REPO / "notebooks" / f"{nb}.ipynb"
        cell = next(c for c in json.loads(path.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
        names = re.findall(r"^(\w+): [\w\[\]]+ = .*#", "".join(cell["source"]), flags=re.M)
        assert len(names) >= 8, f"{nb}: parameters must be typed and commented (name: type = value  # help)"
        r = _run([str(BIN / "papermill"), "--help-notebook", str(path)])
        assert r.returncode == 0, r.stderr
        for name in names:
            block = r.stdout.split(f"  {name}: ", 1)
            assert len(block) == 2, f"{nb}: parameter {name} missing from papermill --help-notebook:\n{r.stdout}"
            assert "(default" in block[1].splitlines()[0], f"{nb}: {name} has no type/default in the help"


def test_source_notebooks_are_paired_and_outputs_free():
    jupytext = BIN / "jupytext"
    for nb in NOTEBOOKS:
        ipynb = REPO / "notebooks" / f"{nb}.ipynb"
        data = json.loads(ipynb.read_text())
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in data["cells"] if c["cell_type"] == "code"), f"{ipynb} carries outputs"
        tags = [c.get("metadata", {}).get("tags", []) for c in data["cells"]]
        assert sum("parameters" in t for t in tags) == 1, f"{ipynb}: one tagged parameters cell expected"
        r = _run([str(jupytext), "--to", "ipynb", str(REPO / "notebooks" / f"{nb}.py"), "-o", "-"])
        paired = json.loads(r.stdout)
        src = lambda n: ["".join(c["source"]).strip() for c in n["cells"]]  # noqa: E731
        assert src(paired) == src(data), f"{nb}.py and {nb}.ipynb differ: run jupytext --sync"


def test_each_page_declares_its_scripts_once(built_book):
    """No script twice in a page's head (Sphinx 7.4 repeated the inline ones of sphinx-thebe and
    sphinx-togglebutton: a second `const THEBE_JS_URL` is a SyntaxError in the console of every page;
    book/_ext/scripts_once.py)."""
    pages = sorted(built_book.rglob("*.html"))
    assert len(pages) >= len(PAGES)
    for page in pages:
        head = page.read_text(encoding="utf-8").split("</head>", 1)[0]
        scripts = re.findall(r"<script\b[^>]*>.*?</script>", head, flags=re.S)
        repeated = sorted({s for s in scripts if scripts.count(s) > 1})
        assert not repeated, f"{page.relative_to(built_book)}: repeated in the head: {repeated}"
        assert head.count("const THEBE_JS_URL") <= 1, page


# -- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def rendered(site, tmp_path_factory) -> dict[str, str]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    shots = Path(os.environ["PDDS_SCREENSHOTS"]) if os.environ.get("PDDS_SCREENSHOTS") else None
    doms = {}
    for page in PAGES:
        url = f"{site}/{page}.html"
        doms[page] = render(url, profile)
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            render(url, profile, shots / f"{page.replace('/', '_')}.png")
    return doms


def _text(dom: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", body)


def test_artifact_pages_show_their_figures_and_tables(rendered):
    for page, need in ARTIFACTS.items():
        dom = rendered[page]
        main = dom[dom.find('<main'):]
        figures = len(re.findall(r'<img[^>]+src="[^"]*\.png"', main))
        tables = len(re.findall(r"<table\b", main))
        assert figures >= need["figures"], f"{page}: {figures} figures, expected >= {need['figures']}"
        assert tables >= need["tables"], f"{page}: {tables} tables, expected >= {need['tables']}"


def test_math_is_typeset_offline(rendered):
    dom = rendered["method"]
    assert dom.count("<mjx-container") >= 3, "MathJax did not typeset the method page"
    assert "$$" not in _text(dom) and "\\sum" not in _text(dom)
    assert "cdn.jsdelivr.net" not in dom and "mathjax/tex-chtml.js" in dom


def test_no_page_shows_a_traceback_or_a_missing_number(rendered):
    for page, dom in rendered.items():
        text = _text(dom)
        assert "Traceback" not in text, f"{page} shows a traceback"
        assert not re.search(r"\b\w+Error: ", text), f"{page} shows an exception"


def test_glued_numbers_reach_the_prose(rendered):
    intro = rendered["intro"]
    pasted = re.findall(r'class="pasted-text">([^<]*)<', intro)
    assert len(pasted) >= 10, f"intro: {len(pasted)} glued numbers"
    assert all(p.strip() for p in pasted)
    method = rendered["method"]
    assert re.search(r'class="pasted-text">\s*43\s*<', method) and re.search(r'class="pasted-text">\s*215\s*<', method)


def test_interactive_fig2_follows_its_controls_from_file(built_book, tmp_path):
    """The built page opened with file:// (no server, nothing fetched): the settings in the URL move the
    controls, and the figure draws the counts `pdds plan` prints for them; the page's math still typesets."""
    page = built_book / "results" / "data_distribution.html"
    dom = render(page.as_uri() + "#sigma=2&normalize=sum&pairs=unordered", tmp_path / "profile")
    m = re.search(r'<pre id="pdds-fig2-drawn"[^>]*>(.*?)</pre>', dom, flags=re.S)
    assert m and m.group(1).strip(), "the interactive Fig. 2 did not draw"
    drawn = json.loads(html.unescape(m.group(1)))

    def plan(*args: str) -> dict:
        r = _run([str(BIN / "pdds"), "plan", "--reference", "train", "--json", *args])
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    want = plan("--sigma", "2", "--normalize", "sum")
    assert drawn["settings"] == {"sigma": "2", "normalize": "sum", "pairs": "unordered", "p": "0.8"}
    assert drawn["pdds"]["targets"] == want["targets"] and drawn["pdds"]["clear"] == want["balanced_clear"]
    assert drawn["uniform"]["targets"] == plan("--strategy", "uniform", "--pairs", "unordered", "--level", "400")["targets"]
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', dom), "the page loads something remote"
    assert dom.count("<mjx-container") >= 1, "MathJax did not typeset the page next to plotly"


def _outputs(path: Path) -> list[str]:
    """What a reader sees of an executed notebook, minus what differs from run to run by nature: object
    addresses, pandas Styler ids, a run's seconds or "cached" (whether an earlier notebook trained it),
    where the printed text is cut into stream chunks, and the order in which concurrent runs finish."""
    rich, printed = [], []
    for c in json.loads(path.read_text())["cells"]:
        for o in c.get("outputs", []) if c["cell_type"] == "code" else []:
            if o.get("output_type") == "stream":
                printed.append("".join(o.get("text", "")))
                continue
            data = o.get("data", {})
            rich.append("".join(data.get("text/plain", "")) + "".join(data.get("text/html", "")))
    def clean(text: str) -> list[str]:
        text = re.sub(r" at 0x[0-9a-f]+", " at 0x", text)
        text = re.sub(r"\bT_[0-9a-f]{5}", "T_", text)
        text = re.sub(r"^\[\d+/(\d+)\] ", r"[/\1] ", text, flags=re.M)  # numbered as they finish
        return re.sub(r"\((n=\d+), (?:\d+ s, \d+ ep|cached)\)", r"(\1)", text).splitlines()

    # runs trained two at a time print their lines in the order they finish: the printed lines as a multiset
    return clean("\n".join(rich)) + sorted(clean("".join(printed)))


def test_one_warm_kernel_gives_the_outputs_of_one_kernel_per_notebook(built_book, tmp_path):
    """`make notebooks` (pddslib.paper.batch) against papermill per notebook (built_book), fresh caches."""
    names = ("data_distribution", "table2", "fig5")
    r = _run([sys.executable, "-m", "pddslib.paper.batch", "--out", str(tmp_path / "out"), "-p", "quick", "True",
              *[str(REPO / "notebooks" / f"{nb}.ipynb") for nb in names]],
             env={**os.environ, "PDDS_CACHE": str(tmp_path / "cache")}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for nb in names:
        batch, alone = _outputs(tmp_path / "out" / f"{nb}.ipynb"), _outputs(built_book.parents[1] / "results" / f"{nb}.ipynb")
        assert len(batch) > 20
        assert batch == alone, f"{nb}: the warm kernel changed an output"
