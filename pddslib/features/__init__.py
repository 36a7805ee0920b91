"""Feature extraction (data2vec audio + BERT text) and the feature store that runs read."""
