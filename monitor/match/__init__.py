"""Which alerts concern the clinic: one Aho–Corasick automaton per watchlist, and the rules
that turn what it finds into a :class:`~monitor.model.Verdict`.

Pure: no I/O, no database, no clock. Build a :class:`Matcher` once per watchlist and call
:meth:`Matcher.classify` for each alert.

Alert texts and watchlist terms go through the same normalization
(:func:`monitor.text.words.normalize`: lower-case words separated by single spaces), and
terms are padded with one space on each side, so the automaton only finds whole words:
"nem" is not found in "cinema", "solid" not in "solidify".

One module per job:

- :mod:`.terms`: the kinds of term, where each counts, a ``Term`` and a ``Hit``;
- :mod:`.patterns`: the watchlist compiled into the automaton's patterns (notation
  variants, plurals, everyday words left out, symbols that must be written so);
- :mod:`.alert_text`: an alert as the automaton reads it (with its fast paths), and
  quoting a hit back in the alert's own characters;
- :mod:`.lots`: the clinic's lots against the lots the alert names;
- :mod:`.verdict`: severity and reasons;
- :mod:`.signals`: the ink signals that let a brand that needs context count;
- :mod:`.matcher`: the :class:`Matcher`, with the scan's hot loop.
"""

from monitor.match.matcher import Matcher

__all__ = ["Matcher"]
