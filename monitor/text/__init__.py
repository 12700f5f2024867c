"""What sources, the matcher and the watchlist share about regulators' text: cleaning
(:mod:`.clean`), dates (:mod:`.dates`) and the notation of CAS registry numbers
(:mod:`.cas`). It imports nothing of the monitor but errors and the model."""
