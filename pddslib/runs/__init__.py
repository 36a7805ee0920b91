"""The run engine: the corpus a run trains on, the content-keyed run cache, one run, sweeps,
training, saved models, splits, metrics and worker processes. Imports pdds, models, features,
corpora, config and util; nothing of the book's glue (pddslib.paper)."""

from ..util.lazy import exports as _exports

__getattr__, __dir__, __all__ = _exports(__name__, {
    "Corpus": "corpus", "load_corpus": "corpus", "iemocap_store_path": "corpus", "crema_d_store_path": "corpus",
    "check_model_fits": "corpus",
    "CACHE_VERSION": "cache", "RunCacheError": "cache", "run_key": "cache", "cached_run": "cache",
    "default_run_cache": "cache", "check_writable": "cache",
    "fit_sampler": "one", "training_targets": "one", "run_one": "one",
    "ExperimentResult": "sweep", "RUN_COLUMNS": "sweep", "run_specs": "sweep", "run_settings": "sweep",
    "run_specs_with": "sweep", "summarise": "sweep",
    "SavedRun": "saved_models", "SavedModelError": "saved_models", "open_run": "saved_models",
    "export_run": "saved_models",
    "kl_loss": "training", "train_model": "training", "predict": "training", "seed_everything": "training",
    "evaluate": "metrics", "weighted_accuracy": "metrics", "unweighted_accuracy": "metrics",
    "confusion_matrix": "metrics",
    "RunSplit": "splits", "run_split": "splits", "fold_rows": "splits",
})
