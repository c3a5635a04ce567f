"""Several programmes in one service: the registry (`registry`) and answering across them (`library`)."""
