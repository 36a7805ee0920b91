"""Feature extraction (data2vec audio + BERT text), the feature store that runs read, the demos' stores
(:mod:`.demo_stores`) and a store's labels as votes (:mod:`.store_votes`)."""
