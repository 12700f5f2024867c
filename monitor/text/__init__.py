"""What sources, the matcher and the watchlist share about regulators' text: the notation
of CAS registry numbers (and, as it moves here, cleaning, dates and lot grammar)."""
