"""Feature extraction (data2vec audio + BERT text), the feature store that runs read, the demos' stores
(:mod:`.demo_stores`), a store's labels as votes (:mod:`.store_votes`), and the corpus objects
(:mod:`.corpus_kinds`: the interface and registry; :mod:`.real_corpora` and :mod:`.demo_stores`
register the built-in ones, imported here so that the registry is full when it is asked)."""

from . import demo_stores, real_corpora  # noqa: F401  (the built-in corpora register themselves)
