"""watchlist.toml: the shipped default holds the domain reference; every mistake is a
ConfigError naming the file, line, entry and key; `summarize` counts and warns."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.match import Matcher
from monitor.model import Brand, Contaminant, Lot, Scope, Watchlist
from monitor.watchlist import (
    cas_problem,
    load_watchlist,
    summarize,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "watchlist.toml"
TEMPLATE = REPO / "monitor" / "data" / "watchlist.toml"
SCOPE = '[scope]\ninclude = ["tattoo"]\n'
# The domain reference names "pigment" what the watchlist calls "restricted_pigment".
REFERENCE_CLASSES = {"pigment": "restricted_pigment"}
# Reference aliases the default leaves out on purpose: "As" starts sentences, "Co." follows
# company names, "Se" starts Spanish, Italian and French sentences (see watchlist.toml).
LEFT_OUT = {"As", "Co", "Se"}


def domain_dir() -> Path:
    """The domain reference: $INKWATCH_DOMAIN, else ../shared/domain next to the repo."""
    env = os.environ.get("INKWATCH_DOMAIN")
    return Path(env) if env else REPO.parent / "shared" / "domain"


@pytest.fixture(scope="session")
def reference() -> dict:
    path = domain_dir() / "watchlist_reference.json"
    if not path.is_file():
        pytest.fail(
            f"domain reference not found at {path}: "
            "put ../shared beside the checkout or set INKWATCH_DOMAIN"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shipped() -> Watchlist:
    return load_watchlist(SHIPPED)


def write(tmp_path: Path, text: str | bytes, name: str = "watchlist.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_watchlist(path)
    return info.value


def terms_of(watchlist: Watchlist) -> set[str]:
    """Every name, alias, CAS and CI code in the watchlist, case-folded."""
    terms = {t for b in watchlist.brands for t in (b.name, *b.aliases)}
    terms |= {t for c in watchlist.contaminants for t in (c.name, *c.aliases, *c.cas, *c.ci)}
    return {term.casefold() for term in terms}


def finder(words: Iterable[str]) -> re.Pattern[str]:
    """Whole words ignoring case, but a short mixed-case symbol ("Pb") exactly, as the file
    says (a plain stand-in for the matcher: no plurals, no punctuation folding)."""
    exact, folded = [], []
    for word in words:
        letters = re.sub(r"\W", "", word)
        symbol = len(letters) <= 3 and letters not in (letters.lower(), letters.upper())
        (exact if symbol else folded).append(r"\s+".join(map(re.escape, word.split())))
    alternatives = [f"(?:{'|'.join(exact)})"] if exact else []
    alternatives += [f"(?i:{'|'.join(folded)})"] if folded else []
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


# -- the shipped default ---------------------------------------------------------------------


def test_shipped_watchlist_equals_the_template_byte_for_byte() -> None:
    assert SHIPPED.read_bytes() == TEMPLATE.read_bytes(), (
        "keep watchlist.toml and its template equal"
    )


def test_shipped_watchlist_holds_every_reference_brand(reference: dict, shipped: Watchlist) -> None:
    names = {brand.name for brand in shipped.brands}
    assert {brand["name"] for brand in reference["brands"]} <= names


def test_shipped_watchlist_holds_every_reference_contaminant_in_its_class(
    reference: dict, shipped: Watchlist
) -> None:
    classes = {c.name: c.kind for c in shipped.contaminants}
    for entry in reference["contaminants"]:
        assert entry["name"] in classes, entry["name"]
        assert classes[entry["name"]] == REFERENCE_CLASSES.get(entry["kind"], entry["kind"])


def test_shipped_watchlist_keeps_every_reference_alias_cas_and_ci(
    reference: dict, shipped: Watchlist
) -> None:
    terms = terms_of(shipped)
    expected = {alias for b in reference["brands"] for alias in b["aliases"]}
    for entry in reference["contaminants"]:
        expected |= {*entry["aliases"], *entry["ci"]}
        expected |= {cas.split()[0] for cas in entry["cas"]}  # "7440-31-5 (tin)"
    assert {term for term in expected if term.casefold() not in terms} == LEFT_OUT


def test_ambiguous_brand_names_need_context(shipped: Watchlist) -> None:
    context = {brand.name for brand in shipped.brands if brand.needs_context}
    assert {
        "Dynamic Color",
        "Eternal Ink",
        "Fusion Ink",
        "Radiant Colors",
        "Solid Ink",
        "World Famous",
        "Starbrite",
        "Millennium Mom's",
        "Evenflo",
    } <= context
    assert "Intenze" not in context


def test_shipped_watchlist_has_no_lots_and_no_warnings(shipped: Watchlist) -> None:
    assert shipped.lots == ()
    lines = summarize(shipped)
    assert len(lines) == 1, lines
    assert lines[0].startswith("33 brands (18 need context), 91 contaminants (microbial 35, ")
    assert lines[0].endswith(", 0 lots, 44 scope words, 72 exclusions, 32 ink signals")


def test_shipped_scope_has_the_words_regulators_use(shipped: Watchlist) -> None:
    include = set(shipped.scope.include)
    assert {
        "tattoo",
        "tattoo ink",
        "tatto ink",
        "permanent make-up",
        "permanent makeup",
        "PMU",
        "microblading",
        "micropigmentation",
        "scalp micropigmentation",
        "SMP",
        "eyebrow pigment",
        "lip pigment",
        "Tätowierfarbe",
        "Tattoofarbe",
        "encre de tatouage",
        "maquillage permanent",
        "inchiostro per tatuaggi",
        "tatueringsfärg",
        "tinta para tatuaje",
        "tatoeage-inkt",
    } <= include
    assert {
        "henna",
        "black henna",
        "temporary tattoo",
        "tattoo sticker",
        "transfer",
        "toy",
        "tattoo machine",
        "power supply",
        "tattoo needle",
        "removal cream",
        "tattoo removal",
        "aftercare",
        "numbing cream",
        "printer ink",
        "pen",
    } <= set(shipped.scope.exclude)


def test_generic_wording_has_an_entry_of_its_own(shipped: Watchlist) -> None:
    owner = {alias: c.name for c in shipped.contaminants for alias in (c.name, *c.aliases)}
    assert owner["microbial contamination"] == "microbial contamination (unspecified)"
    assert owner["bacterial contamination"] == "microbial contamination (unspecified)"
    assert owner["microbiological"] == "microbial contamination (unspecified)"
    assert owner["mould"] == "microbial contamination (unspecified)"
    assert owner["aromatic amine"] == "primary aromatic amines"
    assert owner["PAA"] == "primary aromatic amines"
    assert owner["PAH"] == "polycyclic aromatic hydrocarbons"
    assert owner["polycyclic aromatic hydrocarbons"] == "polycyclic aromatic hydrocarbons"
    assert owner["benzo[a]pyrene"] == "benzo[a]pyrene"
    assert owner["Pseudomonas"] == "Pseudomonas spp."
    assert not {"REACH", "Annex XVII"} & set(owner), "laws are not contaminants"


def _safety_gate_inks(samples: Path) -> list[tuple[str, str, str]]:
    """(case number, product text, danger text) of every tattoo-ink notification."""
    found = []
    for report in sorted((samples / "eu_safety_gate").glob("weekly_report_*.xml")):
        for item in ET.parse(report).getroot().iter("notifications"):
            product = " ".join(item.findtext(tag) or "" for tag in ("product", "name"))
            if "tattoo ink" in product.casefold():
                found.append((item.findtext("caseNumber"), product, item.findtext("danger")))
    return found


def test_every_safety_gate_ink_alert_is_in_scope_and_names_a_contaminant(
    samples: Path, shipped: Watchlist
) -> None:
    inks = _safety_gate_inks(samples)
    assert len(inks) >= 30
    include = finder(shipped.scope.include)
    exclude = finder(shipped.scope.exclude)
    contaminants = finder(
        t for c in shipped.contaminants for t in (c.name, *c.aliases, *c.cas, *c.ci)
    )
    for case, product, danger in inks:
        assert include.search(product), case
        assert not exclude.search(product), case
        assert contaminants.search(danger or ""), f"{case}: {danger}"


def test_health_canada_ink_recalls_in_scope_and_henna_left_out(
    samples: Path, shipped: Watchlist
) -> None:
    with gzip.open(samples / "health_canada" / "HCRSAMOpenData_2026-08-20.json.gz") as raw:
        records = json.load(raw)
    include = finder(shipped.scope.include)
    exclude = finder(shipped.scope.exclude)
    microbial = finder(
        t for c in shipped.contaminants if c.kind == "microbial" for t in (c.name, *c.aliases)
    )
    texts = {r["NID"]: f"{r['Title']} {r['Product'] or ''} {r['Issue']}" for r in records}
    for nid in ("76038", "57670"):  # Bloodline pigments, Radiant Colors lining black
        assert include.search(texts[nid]) and not exclude.search(texts[nid]), texts[nid]
        assert microbial.search(texts[nid]), texts[nid]
    henna = [text for text in texts.values() if "henna" in text.casefold()]
    assert henna and all(exclude.search(text) for text in henna)
    assert exclude.search(texts["52839"])  # tattoo removal products


def test_short_symbols_do_not_find_everyday_words(shipped: Watchlist) -> None:
    metals = finder(t for c in shipped.contaminants if c.kind == "metal" for t in c.aliases)
    assert not metals.search("As a result, Acme Co. sold it as a set. Se retira del mercado.")
    assert not metals.search("the colourant PB 15:3")
    assert metals.search("contains Pb and Ni")


def test_the_matcher_takes_the_shipped_watchlist_without_a_warning(
    shipped: Watchlist, caplog: pytest.LogCaptureFixture
) -> None:
    """No everyday word, unusable alias or bad CAS number for the matcher to drop."""
    with caplog.at_level(logging.WARNING, logger="monitor.match"):
        Matcher(shipped)
    assert [record.getMessage() for record in caplog.records] == []


# -- loading ---------------------------------------------------------------------------------


def test_a_full_file_loads_into_the_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[scope]
include = ["tattoo", " PMU "]
exclude = ["henna"]

[[brand]]
name = "Dynamic Color"
aliases = ["Dynamic"]
needs_context = true

[[brand]]
name = "Intenze"

[[contaminant]]
name = "Pigment Blue 15:3"
class = "restricted_pigment"
cas = ["147-14-8"]
ci = ["CI 74160", "PB 15:3"]

[[lot]]
brand = "Intenze"
product = "True Black"
lot = "SS264"
note = "PMU room"
received = 2025-09-01

[[lot]]
brand = "Dynamic Color"
product = "Dynamic Color Black"
lot = "12024090"
""",
    )
    assert load_watchlist(path) == Watchlist(
        brands=(Brand("Dynamic Color", ("Dynamic",), True), Brand("Intenze")),
        contaminants=(
            Contaminant(
                "Pigment Blue 15:3",
                "restricted_pigment",
                cas=("147-14-8",),
                ci=("CI 74160", "PB 15:3"),
            ),
        ),
        lots=(
            Lot("Intenze", "True Black", "SS264", "PMU room", date(2025, 9, 1)),
            Lot("Dynamic Color", "Dynamic Color Black", "12024090"),
        ),
        scope=Scope(include=("tattoo", "PMU"), exclude=("henna",)),
    )


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + SCOPE.encode())
    assert load_watchlist(path).scope.include == ("tattoo",)


ERRORS = [
    pytest.param(
        SCOPE + '[[brand]]\nname = "Intenze\n',
        "{path}:4:16: TOML syntax error: Illegal character '\\n' in: name = \"Intenze"
        " — fix that line (see https://toml.io for the syntax)",
        id="syntax",
    ),
    pytest.param(
        SCOPE + "exclude = [\n",
        "{path}:3: TOML syntax error: Invalid value in: exclude = ["
        " — fix that line (see https://toml.io for the syntax)",
        id="syntax-at-end",
    ),
    pytest.param(
        SCOPE + '\n[[brands]]\nname = "Intenze"\n',
        "{path}:4: unknown table [[brands]]"
        " — allowed tables: [scope], [[brand]], [[contaminant]], [[lot]]",
        id="unknown-array-table",
    ),
    pytest.param(
        SCOPE + "[settings]\ncontact = 'x'\n",
        "{path}:3: unknown table [settings]"
        " — allowed tables: [scope], [[brand]], [[contaminant]], [[lot]]",
        id="unknown-table",
    ),
    pytest.param(
        "version = 2\n" + SCOPE,
        "{path}:1: unknown key 'version' at the top of the file"
        " — allowed tables: [scope], [[brand]], [[contaminant]], [[lot]]",
        id="unknown-top-key",
    ),
    pytest.param(
        SCOPE + '[brand]\nname = "Intenze"\n',
        "{path}:3: brand must be a list of [[brand]] entries, not a single [brand] table"
        " — write each brand as [[brand]] (double brackets)",
        id="single-brackets",
    ),
    pytest.param(
        '[[scope]]\ninclude = ["tattoo"]\n',
        "{path}:1: scope must be one [scope] table"
        " — write it as [scope] (single brackets) with include = […] and exclude = […]",
        id="scope-as-array",
    ),
    pytest.param(
        'brand = ["Intenze"]\n' + SCOPE,
        "{path}:1: brand[1] must be a table, not a string ('Intenze')"
        " — write each brand as [[brand]] followed by its keys, one per line",
        id="inline-brand",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "Intenze"\n\n[[brand]]\nname = "Dynamic Color"\n'
        'alias = ["Dynamic"]\n',
        "{path}:8: unknown key 'alias' in brand[2] (\"Dynamic Color\")"
        " — allowed keys: aliases, name, needs_context",
        id="unknown-key",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "A"\n[[brand]]\nname = "B"\n'
        '[[brand]]\nname = "Dynamic Color"\naliases = "Dynamic"\n',
        "{path}:9: brand[3].aliases must be a list of strings, not a string ('Dynamic')"
        ' — write it like aliases = ["Dynamic"]',
        id="string-for-list",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "nickel"\nclass = "metal"\ncas = ["7440-02-0", 7440]\n',
        "{path}:6: contaminant[1].cas must be a list of strings, not a list holding a number"
        ' (7440) — write it like cas = ["…", "…"]',
        id="number-in-list",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "Fusion Ink"\nneeds_context = "yes"\n',
        "{path}:5: brand[1].needs_context must be true or false, not a string ('yes')"
        " — write it like needs_context = true",
        id="string-for-bool",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nbrand = "Intenze"\nproduct = "True Black"\nlot = 12024090\n',
        "{path}:6: lot[1].lot must be a string, not a number (12024090)"
        ' — write it like lot = "12024090"',
        id="number-for-string",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "nickel"\nclass = "metals"\n',
        "{path}:5: unknown class 'metals' in contaminant[1] (\"nickel\") — use one of:"
        " microbial, metal, pah, aromatic_amine, restricted_pigment, preservative, other",
        id="unknown-class",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "nickel"\n',
        '{path}:3: contaminant[1] ("nickel") has no class — add class = "…"',
        id="no-class",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "Intenze"\n\n[[brand]]\naliases = ["Dynamic"]\n',
        '{path}:6: brand[2] has no name — add name = "…"',
        id="no-name",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nbrand = "Intenze"\nproduct = "True Black"\nlot = "SS264"\n\n'
        '[[lot]]\nbrand = "Dynamic Color"\nproduct = "Dynamic Color Black"\n',
        '{path}:8: lot[2] ("Dynamic Color Black") has no lot — add lot = "…"',
        id="no-lot",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nproduct = "True Black"\nlot = "SS264"\n',
        '{path}:3: lot[1] ("True Black") has no brand — add brand = "…"',
        id="no-lot-brand",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "Eternal Ink"\n[[brand]]\nname = "Intenze"\n'
        '[[brand]]\nname = "eternal ink"\n',
        '{path}:7: brand[3] ("eternal ink") repeats brand[1] ("Eternal Ink")'
        " — list each brand once (compared ignoring case); merge the two entries",
        id="duplicate-brand",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "Lead"\nclass = "metal"\n'
        '[[contaminant]]\nname = "lead"\nclass = "metal"\n',
        '{path}:6: contaminant[2] ("lead") repeats contaminant[1] ("Lead")'
        " — list each contaminant once (compared ignoring case); merge the two entries",
        id="duplicate-contaminant",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nbrand = "Intenze"\nproduct = "True Black"\nlot = "SS264"\n'
        '[[lot]]\nbrand = "INTENZE"\nproduct = "True Black"\nlot = "ss264"\n',
        '{path}:7: lot[2] ("True Black") repeats lot[1] ("True Black")'
        " — list each lot once (compared ignoring case); merge the two entries",
        id="duplicate-lot",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "  "\n',
        "{path}:4: brand[1].name is empty — give it a value",
        id="empty-name",
    ),
    pytest.param(
        SCOPE + '[[brand]]\nname = "Intenze"\naliases = ["Intenze Ink", ""]\n',
        '{path}:5: brand[1].aliases has an empty string — remove the empty string ""',
        id="empty-alias",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "organometallic tin"\nclass = "metal"\n'
        'cas = ["7440-31-5 (tin)"]\n',
        "{path}:6: contaminant[1].cas '7440-31-5 (tin)' is not a CAS number"
        ' — write it like "50-32-8" (digits, two digits, a check digit);'
        " put remarks in a # comment",
        id="cas-format",
    ),
    pytest.param(
        SCOPE + '[[contaminant]]\nname = "nickel"\nclass = "metal"\ncas = ["7440-02-1"]\n',
        "{path}:6: contaminant[1].cas '7440-02-1' has a wrong check digit (it should end in 0)"
        " — copy the number again from its source",
        id="cas-check-digit",
    ),
    pytest.param(
        '[[brand]]\nname = "Intenze"\n',
        '{path}: no [scope] table — add [scope] with include = ["tattoo", "tattoo ink", …];'
        " the default watchlist has one",
        id="no-scope",
    ),
    pytest.param(
        '[scope]\ninclude = []\nexclude = ["henna"]\n',
        "{path}:2: scope.include is empty — list the words that make an alert about skin"
        ' pigments: include = ["tattoo", …]',
        id="empty-include",
    ),
    pytest.param(
        SCOPE + 'excludes = ["henna"]\n',
        "{path}:3: unknown key 'excludes' in [scope] — allowed keys: include, exclude, ink_signals",
        id="unknown-scope-key",
    ),
    pytest.param(
        SCOPE + 'ink_signals = ["lining", "#"]\n',
        "{path}:3: scope.ink_signals '#' has no word besides the number sign # — write a word,"
        ' or a word and one # for a number, like "lining", "# oz" or "CI #"',
        id="ink-signal-only-a-number",
    ),
    pytest.param(
        SCOPE + 'ink_signals = ["# x #"]\n',
        "{path}:3: scope.ink_signals '# x #' has more than one number sign # — write a word,"
        ' or a word and one # for a number, like "lining", "# oz" or "CI #"',
        id="ink-signal-two-numbers",
    ),
    pytest.param(
        SCOPE + 'ink_signals = "lining"\n',
        "{path}:3: scope.ink_signals must be a list of strings, not a string ('lining') —"
        ' write it like ink_signals = ["lining"]',
        id="ink-signals-not-a-list",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nbrand = "B"\nproduct = "P"\nlot = "1"\nreceived = "2018-09-01"\n',
        "{path}:7: lot[1].received must be a date, not a string ('2018-09-01')"
        " — write it like received = 2018-09-01 (a TOML date: no quotes, no time)",
        id="received-quoted",
    ),
    pytest.param(
        SCOPE + '[[lot]]\nbrand = "B"\nproduct = "P"\nlot = "1"\nexpires = 2024-06-30T10:00:00\n',
        "{path}:7: lot[1].expires must be a date, not a date with a time"
        " (datetime.datetime(2024, 6, 30, 10, 0))"
        " — write it like expires = 2018-09-01 (a TOML date: no quotes, no time)",
        id="expires-with-a-time",
    ),
    pytest.param(
        '[scope]\ninclude = "tattoo"\n',
        "{path}:2: scope.include must be a list of strings, not a string ('tattoo')"
        ' — write it like include = ["tattoo"]',
        id="scope-string",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_file_line_entry_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    err = error_of(path)
    assert str(err) == expected.format(path=path)
    assert err.exit_code == 2


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, SCOPE.encode() + b'[[brand]]\nname = "Mom\x92s"\n')
    assert str(error_of(path)) == (
        f"{path}:4: not UTF-8 text (bad byte at offset 50) — save the file as UTF-8"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert str(error_of(path)) == (
        f"{path}: file not found"
        " — run `inkwatch init` to write the default watchlist, or pass --watchlist PATH"
    )


def test_unreadable_path(tmp_path: Path) -> None:
    err = error_of(tmp_path)
    assert err.where == str(tmp_path)
    assert err.message.startswith("cannot read the file")


def test_cas_problem() -> None:
    assert cas_problem("50-32-8") is None
    assert cas_problem("26172-55-4") is None
    assert cas_problem("50-32-9")[0] == "has a wrong check digit (it should end in 8)"
    assert cas_problem("CAS 50-32-8")[0] == "is not a CAS number"


# -- summarize -------------------------------------------------------------------------------


def test_summarize_counts_and_warns() -> None:
    watchlist = Watchlist(
        brands=(
            Brand("Fusion Ink", ("Fusion",), needs_context=True),
            Brand("Fusion Colors", ("fusion",)),
            Brand("Evenflo", needs_context=True),  # no aliases: fine
        ),
        contaminants=(
            Contaminant("lead", "metal", ("Pb",), ("7439-92-1",)),
            Contaminant("nickel", "metal", ("Ni",)),
            Contaminant("Bacillus cereus", "microbial"),
        ),
        lots=(
            Lot("fusion ink", "Mixing Yellow", "011-1D20211121"),
            Lot("Acme Pigments", "Acme Black", "A1", "shelf 2"),
        ),
        scope=Scope(include=("tattoo", "toy"), exclude=("Toy",)),
    )
    assert summarize(watchlist) == [
        "3 brands (2 need context), 3 contaminants (microbial 1, metal 2), 2 lots,"
        " 2 scope words, 1 exclusion",
        'warning: lot[2] ("Acme Black"): brand "Acme Pigments" is not on the brand list;'
        " add a [[brand]] for it so alerts that write it differently still find the lot",
        'warning: "Fusion" names brand "Fusion Ink" and brand "Fusion Colors":'
        " an alert that uses it matches each of them",
        'warning: "toy" is both in scope.include and in scope.exclude',
    ]


def test_summarize_singular_and_empty() -> None:
    watchlist = Watchlist(
        brands=(Brand("Intenze"),),
        lots=(Lot("Intenze", "True Black", "SS264"),),
        scope=Scope(include=("tattoo",)),
    )
    assert summarize(watchlist) == [
        "1 brand (0 need context), 0 contaminants, 1 lot, 1 scope word, 0 exclusions"
    ]


def test_summarize_shortens_long_lists_of_owners() -> None:
    amines = tuple(Contaminant(f"amine {n}", "aromatic_amine", ("PAA",)) for n in range(6))
    lines = summarize(Watchlist(contaminants=amines, scope=Scope(include=("tattoo",))))
    assert lines[1] == (
        'warning: "PAA" names contaminant "amine 0", contaminant "amine 1", contaminant'
        ' "amine 2", contaminant "amine 3" and 2 more: an alert that uses it matches each of them'
    )
