"""What sources, the matcher and the watchlist share about regulators' text: cleaning
(:mod:`.clean`), dates (:mod:`.dates`), normalization to plain words (:mod:`.words`), lot
grammar — the one lot parser and the one lot comparison (:mod:`.lots`) — and the notation
of CAS registry numbers (:mod:`.cas`) and Colour Index numbers and pigment names
(:mod:`.pigments`). It imports nothing of the monitor but errors and the model."""
