"""The history output: the devices' closed sessions appended to the journal (`writer`) in batches."""
