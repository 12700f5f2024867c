"""The matcher's fast paths give what the plain rules give: the one-pass normalization of an
alert (no folding for ASCII text, capitals lowered by the byte table, gaps squeezed in bulk),
quoting without a regex, and the scan's hits by kind, field and span."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from test_match import WATCHLIST, alert

from monitor.match import Matcher
from monitor.match.alert_text import alert_fields, quote_words
from monitor.model import Alert, Brand, Scope, Watchlist
from monitor.text.lots import normalize_lot
from monitor.text.words import SEP, TO_LATIN, normalize

# -- the alert's normalized text -------------------------------------------------------------

_ASCII_GAP = re.compile(r"[^a-z0-9\x1e\x80-\U0010ffff]")  # ASCII but letters, digits, separator


def plain_fold(text: str) -> str:
    """The folding rules, one character at a time: NFKD, look-alikes to Latin, letters and
    digits kept, accents and invisible characters dropped, anything else a gap; then case."""
    chars = []
    for char in unicodedata.normalize("NFKD", text):
        if char.isascii() or char.isalnum():
            chars.append(TO_LATIN.get(char, char))
        elif unicodedata.category(char) not in ("Mn", "Mc", "Me", "Cf"):
            chars.append(" ")
    folded = "".join(chars)
    return folded.lower() if folded.isascii() else folded.casefold()


def plain_words(alert: Alert) -> str:
    """The alert's fields folded one by one, joined, lower-cased, every ASCII gap a space,
    every run of spaces one space."""
    texts = [
        alert.title,
        *alert.brands,
        *alert.products,
        *alert.lots,
        alert.summary,
        *alert.hazards,
    ]
    folded = [plain_fold(text.replace(SEP, " ")) for text in texts]
    joined = f" {f' {SEP} '.join(folded)} ".lower()
    return re.sub(" +", " ", _ASCII_GAP.sub(" ", joined))


TRICKY = [
    "",
    " ",
    "Tattoo ink \u2014 World Famous \u2014 Medium Blue 1v2",
    "Tattoo ink\u2014Brand\u2014Red",
    "Tattoo ink \u2013 Brand \u2013 Red, batch 8297.",
    "Children\u2019s jacket",
    "3,3\u2032-Dichlorobenzidine (CAS: 91\u201194\u20111)...",
    "BENZO[A]PYRENE -- 50-32-8 --- (limit: 0.00005 %)",
    "  leading and trailing   runs   ",
    "x . . . y ; ; ; z\t\n\r\x0b\x0cw",
    "Encre noire \u00e0 tatouer, E\u0301TERNAL INK",
    "Dyn\u0430mic C\u043el\u043er \u0399\u039d\u03a4\u0395\u039d\u0396\u0395",
    "Inten\u200bze\u00ad Ink\ufeff \u2060",
    "\uff29\uff2e\uff34\uff25\uff2e\uff3a\uff25 \ufb01ne ink\u00b2 \u00bd",
    "Stra\u00dfe \u0130stanbul \u03a3\u039f\u03a6\u0399\u0391\u03a3 \u1e9e",
    "\u13a0\u13a1 \uab70\uab71 Cherokee",
    "no-break\u00a0space and\u3000ideographic space",
    "field with the separator \x1e inside\x1eit",
    "under_score and back`tick and ~tilde~",
    "\u2018quoted\u2019 \u201cdouble\u201d \u00abguillemets\u00bb",
    "numbers 12024090/12026090, 6/3b, WUL\u2011020124\u2011D1",
    "\U0001d400\U0001d401 mathematical bold",
]


@pytest.mark.parametrize("text", TRICKY)
def test_normalized_alert_agrees_with_the_plain_rules_field_by_field(text: str) -> None:
    for case in (
        alert(title=text),
        alert(title="Tattoo ink", summary=text),
        alert(title=text, brands=(text, "ASCII Brand"), lots=(text,), hazards=(text, "Chemical")),
    ):
        assert alert_fields(case)[2].decode() == plain_words(case)


def test_normalized_alert_agrees_with_the_plain_rules_on_mixtures() -> None:
    rng = random.Random(20)
    pieces = [*TRICKY, "Tattoo ink", "Lead", "Pb", "x", ".", " \u2014 ", "\u2014", "  "]
    for _ in range(500):

        def text() -> str:
            return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))

        case = alert(
            title=text(),
            summary=text(),
            brands=tuple(text() for _ in range(rng.randint(0, 2))),
            products=tuple(text() for _ in range(rng.randint(0, 2))),
            lots=tuple(text() for _ in range(rng.randint(0, 2))),
            hazards=tuple(text() for _ in range(rng.randint(0, 3))),
        )
        assert alert_fields(case)[2].decode() == plain_words(case), case


def test_spaced_dashes_are_one_gap() -> None:
    assert normalize(" a \u2014 b \u2013 c\u2014d ") == "a b c d"
    for dash in ("\u2014", "\u2013"):
        assert normalize_lot(f"Lot {dash} 12024090") == "12024090"


# -- quoting -----------------------------------------------------------------------------------


def regex_quote(original: str, words: str) -> str:
    """Quoting as it was before the fast path: the candidate always by regex."""
    lower = original.lower()
    if len(lower) != len(original):
        return ""
    first = words.partition(" ")[0]
    run = re.compile(rf"[^\W_]+(?:[\W_]+[^\W_]+){{{words.count(' ')}}}")
    at = lower.find(first)
    while at >= 0:
        if at == 0 or not lower[at - 1].isalnum():
            found = run.match(original, at)
            quoted = found.group() if found else ""
            if quoted and (quoted.lower() == words or normalize(quoted) == words):
                end = found.end()
                while end < len(original) and not original[end].isascii():
                    if plain_fold(original[end]):
                        break
                    end += 1
                return original[at:end]
        at = lower.find(first, at + 1)
    return ""


@pytest.mark.parametrize(
    ("original", "words"),
    [
        ("Tattoo ink \u2014 Zenmoka Ink \u2014 Blue", "zenmoka ink"),
        ("Tattoo inks recalled", "tattoo ink"),
        ("Tattoo ink recalled", "tattoo ink"),
        ("tattoo ink", "tattoo ink"),
        ("Tattoo inkjet and tattoo ink", "tattoo ink"),
        ("Tattoo  ink, tattoo-ink", "tattoo ink"),
        ("Contains pixbel-daxkamiaine, pixbel daxkamiaine.", "pixbel daxkamiaine"),
        ("CAS 50-32-8 and 50 32 8", "50 32 8"),
        ("\u00c9ternal Ink", "eternal ink"),
        ("E\u0301ternal Ink", "eternal ink"),
        ("Intenze\u0301 and more", "intenze"),
        ("Intenze\u200b, Intenze", "intenze"),
        ("Dyn\u0430mic Color", "dynamic color"),
        ("NEM in cinema; NEM", "nem"),
        ("solidify Solid", "solid"),
        ("Stra\u00dfe", "strasse"),
        ("Pb and pb", "pb"),
        ("no such words", "tattoo ink"),
        ("Lead_free lead", "lead"),
        ("lead\u00e9", "lead"),
    ],
)
def test_quoting_without_a_regex_agrees_with_the_regex(original: str, words: str) -> None:
    assert quote_words(original, words) == regex_quote(original, words)


# -- the scan ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(WATCHLIST)


def spans(matcher: Matcher, case: Alert) -> dict[str, list[tuple[int, str, str]]]:
    """What scan() found: by kind, (field index, the normalized words, the term's name)."""
    normalized = alert_fields(case)[2].decode()
    return {
        kind: [
            (field, normalized[start + 1 : end - 1], term.name) for field, start, end, term in hits
        ]
        for kind, hits in matcher.scan(case).items()
    }


def test_scan_finds_each_kind_in_its_fields(matcher: Matcher) -> None:
    case = alert(
        title="Tattoo ink \u2014 Intenze \u2014 Black",  # field 0
        brands=("Intenze",),  # field 1
        products=("Henna Black",),  # field 2: exclusions count here
        lots=("all lots",),  # field 3
        summary="Arsenic found; Intenze said so.",  # field 4: brands do not count here
        hazards=("Intenze with lead (Pb)", "tattoo ink"),  # fields 5, 6: contaminants only
    )
    assert spans(matcher, case) == {
        "scope": [(0, "tattoo ink", "tattoo ink")],
        "brand": [(0, "intenze", "Intenze"), (1, "intenze", "Intenze")],
        "exclusion": [(2, "henna", "henna")],
        "all_lots": [(3, "all lots", "all lots")],
        "contaminant": [(4, "arsenic", "arsenic"), (5, "lead", "lead"), (5, "pb", "lead")],
    }


# A word beyond ASCII before the hits: the automaton counts bytes, a span counts characters.
@pytest.mark.parametrize("place", ["", " \u0141\u00f3d\u017a"])
def test_scan_spans_point_into_the_normalized_text(matcher: Matcher, place: str) -> None:
    case = alert(title=f"PMU{place} \u2014 Dynamic Color", summary="x", hazards=("nickel, Ni",))
    normalized = alert_fields(case)[2].decode()
    found = matcher.scan(case)
    words = {
        kind: [normalized[start + 1 : end - 1] for _, start, end, _ in hits]
        for kind, hits in found.items()
    }
    assert words == {"scope": ["pmu"], "brand": ["dynamic color"], "contaminant": ["nickel", "ni"]}
    for hits in found.values():
        for field, start, _, _ in hits:
            assert normalized[:start].count(SEP) == field


def test_scan_keeps_the_longest_hit_of_a_kind(matcher: Matcher) -> None:
    case = alert(title="Tattoo ink", hazards=("Pseudomonas fluorescens and Pseudomonas",))
    assert spans(matcher, case) == {
        "scope": [(0, "tattoo ink", "tattoo ink")],
        "contaminant": [
            (2, "pseudomonas fluorescens", "Pseudomonas spp."),
            (2, "pseudomonas", "Pseudomonas aeruginosa"),
        ],
    }


def test_a_longer_hit_replaces_every_term_of_the_shorter_key() -> None:
    # "Acme" is an alias of two brands, so its key holds two terms; "Acme Ink" starts at the
    # same word and is longer: both of the shorter key's hits give way to it.
    brands = (
        Brand("Tattoo Co", aliases=("Acme",)),
        Brand("Acme Ink"),
        Brand("Acme Pro", aliases=("Acme",)),
    )
    matcher = Matcher(Watchlist(brands=brands, contaminants=(), lots=(), scope=Scope()))
    assert spans(matcher, alert(title="Acme Ink")) == {"brand": [(0, "acme ink", "Acme Ink")]}
    assert spans(matcher, alert(title="Acme")) == {
        "brand": [(0, "acme", "Tattoo Co"), (0, "acme", "Acme Pro")]
    }
    assert spans(matcher, alert(title="Acme, then Acme Ink")) == {
        "brand": [
            (0, "acme", "Tattoo Co"),
            (0, "acme", "Acme Pro"),
            (0, "acme ink", "Acme Ink"),
        ]
    }


def test_a_field_holding_the_separator_reads_it_as_a_gap(matcher: Matcher) -> None:
    held = alert(title="Tattoo\x1eink \u2014 Intenze", summary="\x1e", hazards=("lead\x1e",))
    plain = alert(title="Tattoo ink \u2014 Intenze", summary=" ", hazards=("lead ",))
    assert matcher.scan(held) == matcher.scan(plain)
    assert [m.text for m in matcher.classify(held).matches if m.kind == "scope"] == ["Tattoo ink"]
