"""The real corpora as corpus objects (:mod:`.corpus_kinds`): IEMOCAP, CREMA-D and manifests (any corpus).

Each wraps its votes (:func:`pddslib.corpora.open_votes`), its extraction (:mod:`.extract`, which
reads the ``inputs*`` modules) and its store; ``import pddslib.features`` registers them. They are
not in the ``inputs*`` modules beside their readers because :mod:`.extract` imports those, and a
corpus object calls :mod:`.extract`. The two demos' objects are in :mod:`.demo_stores`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..corpora.crema_d import DEFAULT_AGREEMENT
from .corpus_kinds import CorpusKind, Flag, get, register


class IemocapCorpus(CorpusKind):
    """IEMOCAP (:mod:`pddslib.corpora.iemocap`): a release's votes, its extraction
    (:func:`pddslib.features.extract.extract`) and its store."""

    name, display, order = "iemocap", "IEMOCAP", 1
    split_rule = "sessions 1-4 train, 5 test"
    vote_flag = Flag("--iemocap", "ROOT", "an IEMOCAP release folder (holds Session1..5)")
    extract_flag = Flag("--iemocap", "ROOT", "IEMOCAP release folder (holds Session1..5)")
    root_parameter, store_dir = "iemocap_root", "iemocap-features"

    def votes(self, value: str, options: Any) -> Any:
        from ..corpora import open_votes

        return open_votes("iemocap", root=value, sessions=options.sessions, policy=options.policy)

    def figure_votes(self, *, iemocap_root: str = "", sessions: Any = "1,2,3,4", policy: Any = "default",
                     **_: Any) -> tuple[Any, Any]:
        from ..corpora import open_votes

        votes = open_votes("iemocap", root=iemocap_root, sessions=sessions, policy=policy)
        return votes, votes

    def extract(self, value: str, out: Any, options: Any, common: Mapping[str, Any]) -> Path:
        from .extract import extract

        return extract(value, out, sessions=options.sessions, text_model=options.text_model,
                       policy=options.policy, **common)

    def prepare(self, root: str, store: str, *, agreement: float | None, quick: bool,
                device: str) -> tuple[str, str]:
        if root and not (self.store_path(store) / "store.json").is_file():
            from .extract import extract

            extract(root, self.store_path(store), device=device)
        return self.name, store

    def locate(self, store: Any = None, **kwargs: Any) -> tuple[Path, str | None]:
        return super().locate(store, **kwargs)[0], self.display   # by name: "IEMOCAP"


register(IemocapCorpus())


def _rule(agreement: float) -> str:
    return "every rater agrees (agreement 1)" if agreement == 1.0 else f"top emotion >= {agreement:.0%} of the votes"


def rules_comparison(path: str, modality: str, chosen: float) -> str:
    """The clear/ambiguous counts of CREMA-D under the chosen rule and under the other reference rule
    (what ``pdds stats --crema-d`` prints after the counts)."""
    from ..corpora import crema_d

    rules = [chosen] + [a for a in (crema_d.DEFAULT_AGREEMENT, 1.0) if a != chosen][:1]
    lines = ["rules compared (clear: the top emotion's share of the votes reaches the agreement; ambiguous: the "
             "top two together do)",
             f"{'rule':<44}{'clear':>7}" + "".join(f"{c:>6}" for c in crema_d.CLASSES)
             + f"{'ambiguous':>11}{'ties':>6}{'other':>7}"]
    for a in rules:
        c = crema_d.stats(path, modality, a)
        tag = " (default)" if a == crema_d.DEFAULT_AGREEMENT else ""
        lines.append(f"{(_rule(a) + tag):<44}{c.n_clear:>7}" + "".join(f"{n:>6}" for n in c.clear)
                     + f"{c.n_ambiguous:>11}{c.ties:>6}{c.other:>7}")
    return "\n".join(lines)


class CremaDCorpus(CorpusKind):
    """CREMA-D (:mod:`pddslib.corpora.crema_d`): its crowd votes, a release's audio-only extraction
    (:func:`pddslib.features.extract.extract_crema_d`) and its store."""

    name, display, order = "crema-d", "CREMA-D", 2
    split_rule = "actors 1001-1064 train, 1065-1091 test"
    vote_flag = Flag("--crema-d", "PATH", "CREMA-D's tabulatedVotes.csv, its folder, or 'download'")
    extract_flag = Flag("--crema-d", "ROOT",
                        "CREMA-D release folder (AudioWAV/, processedResults/tabulatedVotes.csv): audio only")
    root_parameter, store_dir = "crema_d_root", "crema-d-features"
    default_agreement = DEFAULT_AGREEMENT

    def votes(self, value: str, options: Any) -> Any:
        from ..corpora import open_votes

        extra = {} if options.agreement is None else {"agreement": options.agreement}
        return open_votes("crema-d", path=value, modality=options.modality, **extra)

    def stats_extra(self, value: str, options: Any, agreement: float | None) -> str:
        return rules_comparison(value, options.modality, self.default_agreement if agreement is None else agreement)

    def figure_votes(self, *, crema_d: str = "download", **_: Any) -> tuple[Any, Any]:
        from ..corpora import open_votes

        votes = open_votes("crema-d", path=crema_d)
        return votes, votes

    def extract(self, value: str, out: Any, options: Any, common: Mapping[str, Any]) -> Path:
        from .extract import extract_crema_d

        return extract_crema_d(value, out, agreement=options.agreement, votes=options.votes,
                               exclude=[c for c in (options.exclude or "").split(",") if c.strip()], **common)

    def prepare(self, root: str, store: str, *, agreement: float | None, quick: bool,
                device: str) -> tuple[str, str]:
        """The release's store (extracted, or relabelled when its threshold is not ``agreement``) with
        ``root``; ``store`` alone: that store; neither: the CREMA-D demo's."""
        if root:
            path = self.store_path(store)
            want = self.default_agreement if agreement is None else float(agreement)
            meta = path / "store.json"
            have = json.loads(meta.read_text()).get("config", {}).get("policy", {}).get("agreement") \
                if meta.is_file() else None
            if have != want:
                from .extract import extract_crema_d

                extract_crema_d(root, path, agreement=want, device=device, log=print)
            return str(path), ""
        if store:
            return store, ""
        return get("crema-d-demo").prepare(root, store, agreement=agreement, quick=quick, device=device)

    def display_name(self, store: Any) -> str:
        return self.display


register(CremaDCorpus())


class ManifestCorpus(CorpusKind):
    """Any corpus, as a manifest CSV (:mod:`pddslib.corpora.manifest`; the book's "Your own corpus"):
    its votes (no audio read) and its extraction (:func:`pddslib.features.extract.extract_manifest`).
    It has no default store (``pdds run --corpus STORE`` names the store extracted)."""

    name, display, order, runnable = "manifest", "manifest", 3, False
    split_rule = "the CSV's split column, else a fixed hash of the speaker (or utterance id)"
    vote_flag = Flag("--manifest", "CSV", "a manifest CSV (path, votes_<class> | dist_<class> | label, ...); "
                                          "the audio is not read")
    extract_flag = Flag("--manifest", "CSV", "a CSV with one row per utterance (path, labels, ...)")

    def votes(self, value: str, options: Any) -> Any:
        from ..corpora import open_votes

        extra = {} if options.agreement is None else {"agreement": options.agreement}
        return open_votes("manifest", path=value, split=options.split, **extra)

    def extract(self, value: str, out: Any, options: Any, common: Mapping[str, Any]) -> Path:
        from .extract import extract_manifest

        return extract_manifest(value, out, agreement=1.0 if options.agreement is None else options.agreement,
                                text=not options.no_text, text_model=options.text_model,
                                classes=options.classes.split(",") if options.classes else None, **common)


register(ManifestCorpus())
