"""The matcher: normalization rules, lots, relevance and severity. Pure and in memory."""

from __future__ import annotations

import logging
import time

import pytest

from monitor.match import Matcher
from monitor.match.lots import HeldLot
from monitor.model import Alert, Brand, Contaminant, Lot, Match, Scope, Verdict, Watchlist
from monitor.text.cas import cas_is_valid, cas_numbers
from monitor.text.lots import ALL_LOTS, find_lots, normalize_lot
from monitor.text.pigments import ci_variants
from monitor.text.words import normalize, normalize_with_offsets

SCOPE = Scope(
    include=(
        "tattoo",
        "tattoo ink",
        "tattoo pigment",
        "permanent make-up",
        "PMU",
        "micropigmentation",
        "scalp micropigmentation",
        "microblading",
    ),
    exclude=(
        "henna",
        "temporary tattoo",
        "tattoo sticker",
        "transfer",
        "toy",
        "tattoo machine",
        "power supply",
        "needle",
        "removal cream",
        "aftercare",
        "numbing",
        "printer",
    ),
)
BRANDS = (
    Brand("Intenze", aliases=("Intenze Ink", "Intenze Products")),
    Brand("Dynamic Color", aliases=("Dynamic", "Dynamic Color Inc."), needs_context=True),
    Brand("World Famous", aliases=("World Famous Tattoo Ink",), needs_context=True),
    Brand("Solid Ink", aliases=("Color Art Inc.",), needs_context=True),
    Brand("Eternal Ink", aliases=("Eternal",), needs_context=True),
    Brand("NEM"),
    Brand("Solid"),
)
CONTAMINANTS = (
    Contaminant("arsenic", "metal", aliases=("As",), cas=("7440-38-2",)),
    Contaminant("lead", "metal", aliases=("Pb",), cas=("7439-92-1",)),
    Contaminant("nickel", "metal", aliases=("Ni",), cas=("7440-02-0",)),
    Contaminant(
        "benzo[a]pyrene", "pah", aliases=("benzo(a)pyrene", "BaP", "B[a]P"), cas=("50-32-8",)
    ),
    Contaminant(
        "3,3'-dichlorobenzidine",
        "aromatic_amine",
        aliases=("primary aromatic amine",),
        cas=("91-94-1",),
    ),
    Contaminant(
        "o-anisidine", "aromatic_amine", aliases=("primary aromatic amine",), cas=("90-04-0",)
    ),
    Contaminant("p-phenylenediamine", "aromatic_amine", aliases=("PPD",), cas=("106-50-3",)),
    Contaminant(
        "Pigment Blue 15:3",
        "restricted_pigment",
        aliases=("phthalocyanine blue",),
        cas=("147-14-8",),
        ci=("CI 74160",),
    ),
    Contaminant("Pseudomonas aeruginosa", "microbial", aliases=("Pseudomonas",)),
    Contaminant("Pseudomonas spp.", "microbial", aliases=("Pseudomonas fluorescens",)),
    Contaminant("microbial contamination", "microbial", aliases=("microorganisms",)),
)
WATCHLIST = Watchlist(
    brands=BRANDS,
    contaminants=CONTAMINANTS,
    lots=(Lot("Dynamic Color", "Black", "12024090", note="two bottles"),),
    scope=SCOPE,
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(WATCHLIST)


def alert(**fields: object) -> Alert:
    return Alert(source="test", ref=str(fields.get("title", "")), **fields)  # type: ignore[arg-type]


def found(verdict: Verdict, kind: str) -> dict[str, Match]:
    return {m.term: m for m in verdict.matches if m.kind == kind}


# -- normalization, one rule each ------------------------------------------------------------


def test_nfkc_folds_compatibility_forms() -> None:
    assert normalize("ＩＮＴＥＮＺＥ ﬁne ink²") == "intenze fine ink2"


def test_case_is_folded() -> None:
    assert normalize("WORLD FAMOUS Straße") == "world famous strasse"


def test_accents_are_stripped_composed_or_not() -> None:
    assert normalize("Encre noire à tatouer") == "encre noire a tatouer"
    assert normalize("Cafe\u0301 cre\u0300me") == "cafe creme"


def test_zero_width_characters_are_removed() -> None:
    assert normalize("Inten\u200bze\u00ad Ink\ufeff") == "intenze ink"
    assert normalize("Dyn\u200damic\u2060 Color") == "dynamic color"


def test_cyrillic_and_greek_look_alikes_fold_to_latin() -> None:
    assert normalize("Dyn\u0430mic Color") == "dynamic color"  # Cyrillic а
    assert normalize("\u0399\u039d\u03a4\u0395\u039d\u0396\u0395") == "intenze"  # Greek capitals
    assert normalize("\u0420\u0415\u0420") == "pep"  # all-Cyrillic look-alikes too


def test_homoglyph_brand_is_matched_and_quoted_as_written(matcher: Matcher) -> None:
    title = "Tattoo ink \u2014 Dyn\u0430mic Color \u2014 Black"
    verdict = matcher.classify(alert(title=title))
    brand = found(verdict, "brand")["Dynamic Color"]
    assert brand.text == "Dyn\u0430mic Color"  # the alert's own Cyrillic а
    assert brand.field == "title"
    assert verdict.severity == "high"


def test_zero_width_inside_a_word_is_quoted_from_the_original(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Tattoo ink", brands=("Inten\u200bze",)))
    assert found(verdict, "brand")["Intenze"].text == "Inten\u200bze"


def test_accented_brand_is_quoted_with_its_accents(matcher: Matcher) -> None:
    for written in ("\u00c9ternal Ink", "E\u0301ternal Ink", "Intenze\u0301"):
        verdict = matcher.classify(alert(title=f"Tattoo ink \u2014 {written} \u2014 Red"))
        assert [m.text for m in verdict.matches if m.kind == "brand"] == [written]


def test_brackets_and_parentheses_fold_alike(matcher: Matcher) -> None:
    assert normalize("benzo(a)pyrene") == normalize("benzo[a]pyrene") == "benzo a pyrene"
    for written in ("benzo(a)pyrene", "Benzo[a]pyrene", "BaP", "B[a]P", "benzo (a) pyrene"):
        verdict = matcher.classify(alert(title="Tattoo ink", summary=f"It contains {written}."))
        assert found(verdict, "contaminant")["benzo[a]pyrene"].text == written


def test_apostrophe_variants_fold_alike(matcher: Matcher) -> None:
    forms = [f"3,3{mark}-dichlorobenzidine" for mark in ("'", "\u2019", "\u2032", "`", "\u00b4")]
    assert {normalize(form) for form in forms} == {"3 3 dichlorobenzidine"}
    for form in forms:
        verdict = matcher.classify(alert(title="Tattoo ink", summary=f"Releases {form}."))
        assert found(verdict, "contaminant")["3,3'-dichlorobenzidine"].text == form


def test_hyphen_and_space_variants_fold_alike(matcher: Matcher) -> None:
    for dash in ("-", "\u2010", "\u2011", "\u2013", "\u2014", " "):
        assert normalize(f"permanent make{dash}up") == "permanent make up"
    verdict = matcher.classify(alert(title="Permanent makeup pigment"))  # the closed form
    assert found(verdict, "scope")["permanent make-up"].text == "Permanent makeup"


@pytest.mark.parametrize(
    "written", ["50-32-8", "50 32 8", "CAS No. 50-32-8", "CAS: 50\u201132\u20118", "CAS 50–32–8"]
)
def test_cas_number_variants(matcher: Matcher, written: str) -> None:
    assert cas_numbers(written) == ["50-32-8"]
    verdict = matcher.classify(alert(title="Tattoo ink", summary=f"Found: {written}."))
    match = found(verdict, "contaminant")["benzo[a]pyrene"]
    assert match.text in written and match.text[:2] == "50"


def test_cas_check_digit() -> None:
    assert cas_is_valid("7440-38-2") and cas_is_valid("91-94-1")
    assert not cas_is_valid("50-32-9")
    assert cas_numbers("lot 50-32-9 and CAS 7440-31-5 (tin)") == ["7440-31-5"]


@pytest.mark.parametrize(
    "written",
    [
        "CI 74160",
        "C.I. 74160",
        "CI74160",
        "Colour Index 74160",
        "Color Index No. 74160",
        "Pigment Blue 15:3",
        "PB 15:3",
        "PB15:3",
        "P.B. 15:3",
    ],
)
def test_colour_index_and_pigment_name_variants(matcher: Matcher, written: str) -> None:
    verdict = matcher.classify(alert(title="Tattoo ink", summary=f"Colourant {written} found."))
    assert found(verdict, "contaminant")["Pigment Blue 15:3"].text == written


def test_ci_variants_are_generated_from_either_notation() -> None:
    assert "PB15:3" in ci_variants("Pigment Blue 15:3")
    assert "Pigment Blue 15:3" in ci_variants("P.B. 15:3")
    assert "C.I. 74160" in ci_variants("CI74160")
    assert ci_variants("Intenze") == []


def test_whole_words_only(matcher: Matcher) -> None:
    in_scope = "Tattoo ink sold at the cinema; the ink may solidify; fluid dynamics."
    verdict = matcher.classify(alert(title=in_scope, brands=("Cinema Supplies",)))
    assert found(verdict, "brand") == {}  # no NEM in cinema, Solid in solidify, Dynamic in dynamics
    verdict = matcher.classify(alert(title="Tattoo ink \u2014 NEM \u2014 Solid Black"))
    assert set(found(verdict, "brand")) == {"NEM", "Solid"}


def test_scope_words_match_simple_plurals(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Tattoo inks recalled"))
    assert found(verdict, "scope")["tattoo ink"].text == "Tattoo inks"
    verdict = matcher.classify(alert(title="Temporary Tattoos, 4 pack"))
    assert not verdict.relevant and found(verdict, "exclusion")["temporary tattoo"]


def test_scope_words_that_differ_by_a_plural_are_one_word() -> None:
    scope = Scope(
        include=("tattoo pigment", "tattoo pigments", "permanent make-up", "permanent makeup")
    )
    matcher = Matcher(Watchlist(scope=scope))
    verdict = matcher.classify(alert(title="Tattoo pigments and permanent makeup"))
    assert verdict.reasons == ("It is about tattoo pigment.", "It is about permanent make-up.")


def test_brand_names_do_not_take_plurals(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Tattoo ink", summary="Intenzes and Dynamics"))
    assert found(verdict, "brand") == {}


def test_short_symbols_match_only_in_their_own_case(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Tattoo ink", summary="Lead (Pb) and nickel (Ni)."))
    assert set(found(verdict, "contaminant")) == {"lead", "nickel"}
    verdict = matcher.classify(alert(title="Tattoo ink", summary="pb ni nI bap"))
    assert found(verdict, "contaminant") == {}


def test_common_word_aliases_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.match"):
        matcher = Matcher(WATCHLIST)
    assert "'As' (arsenic) is an everyday word" in caplog.text
    verdict = matcher.classify(alert(title="Tattoo ink", summary="As a precaution, As AS as."))
    assert found(verdict, "contaminant") == {}


def test_normalize_with_offsets_agrees_with_normalize() -> None:
    samples = [
        "Tattoo ink \u2014 Dyn\u0430mic \u2014 Black",
        "Inten\u200bze  INK__x",
        "Cafe\u0301 ½ ﬁne Straße İ",
        "  --3,3\u2032-DCB (CAS: 91\u201194\u20111)--  ",
        "",
    ]
    for text in samples:
        normalized, offsets = normalize_with_offsets(text)
        assert normalized == normalize(text)
        assert len(offsets) == len(normalized)
        assert offsets == sorted(offsets)


def test_shared_alias_is_one_generic_finding(matcher: Matcher) -> None:
    verdict = matcher.classify(
        alert(title="Tattoo ink", summary="It releases a primary aromatic amine.")
    )
    assert list(found(verdict, "contaminant")) == ["primary aromatic amine"]
    verdict = matcher.classify(
        alert(title="Tattoo ink", summary="A primary aromatic amine: o-anisidine.")
    )
    assert list(found(verdict, "contaminant")) == ["o-anisidine"]


def test_longer_contaminant_name_wins(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Tattoo ink", hazards=("Pseudomonas fluorescens",)))
    assert list(found(verdict, "contaminant")) == ["Pseudomonas spp."]


# -- lots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["Lot #12024090", "LOT: 12024090", "batch 12024090", "Lot No. 12024090", "12024090"]
)
def test_normalize_lot_drops_labels(written: str) -> None:
    assert normalize_lot(written) == "12024090"


def test_normalize_lot_keeps_letters_and_ignores_case_and_separators() -> None:
    assert normalize_lot("SS74") == normalize_lot("ss 74") == "SS74"
    assert normalize_lot("BL23") == "BL23"
    assert normalize_lot("WUL-020124-D1") == normalize_lot("wul 020124 d1") == "WUL020124D1"
    assert normalize_lot("Lot NO1234") == "NO1234"  # a code starting with NO keeps it
    for everything in ("all lots", "All batches", "any", "*"):
        assert normalize_lot(everything) == ALL_LOTS


def test_lots_in_text() -> None:
    text = (
        "Dynamic Color - Black, lot numbers 12024090 and 12026090. Sacred Tattoo Ink; "
        "Lot#: RB0624; Best Before: June 28 2027. A lot of ink. Batch # YO19RX25W70, Y61IMX40"
    )
    assert find_lots(text) == ["12024090", "12026090", "RB0624", "YO19RX25W70", "Y61IMX40"]
    assert find_lots("Lotion for a lot of people") == []
    assert find_lots("Lot: 6/3b; lots 12024090 / 12026090") == ["6/3b", "12024090", "12026090"]
    assert find_lots("Lot\u00a0WUL\u2011020124\u2011D1 and LOT: 12024090") == [
        "WUL\u2011020124\u2011D1",
        "12024090",
    ]


FDA_TITLE = (
    "FDA Advises Consumers, Tattoo Artists, and Retailers to Avoid Using or Selling "
    "Certain Tattoo Inks Contaminated with Microorganisms"
)
FDA_SUMMARY = (
    "FDA testing found microorganisms in these tattoo inks: Scalpaink SC, PA, AL; "
    "Dynamic Color \u2013 Black, lot numbers 12024090 and 12026090; Solid Ink, Orange, "
    "batch 8297."
)


def test_lot_the_clinic_holds_is_critical(matcher: Matcher) -> None:
    fda = alert(
        title=FDA_TITLE,
        summary=FDA_SUMMARY,
        brands=("Scalpaink", "Dynamic Color", "Solid Ink"),
        products=("Tattoo inks",),
    )
    verdict = matcher.classify(fda)
    assert verdict.relevant and verdict.severity == "critical"
    lot = found(verdict, "lot")["Dynamic Color Black lot 12024090"]
    assert (lot.field, lot.text) == ("summary", "12024090")
    assert verdict.reasons[0] == "You hold lot 12024090 of Dynamic Color Black."
    assert "It names Dynamic Color, a brand on your watchlist." in verdict.reasons
    assert "It reports microbial contamination." in verdict.reasons
    assert len(verdict.reasons) == len(set(verdict.reasons))


def test_lot_from_the_lots_field_is_quoted_as_written(matcher: Matcher) -> None:
    verdict = matcher.classify(
        alert(title="Tattoo ink \u2014 Dynamic \u2014 Black", lots=("LOT: 12024090",))
    )
    assert verdict.severity == "critical"
    assert found(verdict, "lot")["Dynamic Color Black lot 12024090"].text == "LOT: 12024090"


def test_lots_joined_by_a_slash_count_one_by_one(matcher: Matcher) -> None:
    verdict = matcher.classify(
        alert(title="Dynamic Color recalls tattoo ink", lots=("12026090/12024090",))
    )
    assert found(verdict, "lot")["Dynamic Color Black lot 12024090"].text == "12026090/12024090"


def test_same_digits_for_another_brand_are_not_critical(matcher: Matcher) -> None:
    other = alert(
        title="Acme Pigments recalls tattoo ink",
        summary="Acme Black, lot 12024090, contains arsenic.",
        brands=("Acme Pigments",),
    )
    verdict = matcher.classify(other)
    assert verdict.severity == "medium"
    assert found(verdict, "lot") == {}


def test_lot_of_a_brand_outside_any_relevant_alert_is_not_critical(matcher: Matcher) -> None:
    tools = alert(title="Dynamic angle grinder", summary="Lot 12024090 may overheat.")
    assert matcher.classify(tools) == Verdict(relevant=False, severity=None)


def test_alert_covering_all_lots_is_critical(matcher: Matcher) -> None:
    recall = alert(
        title="Dynamic Color recalls Black tattoo ink",
        summary="All lots of Dynamic Color Black are affected.",
    )
    verdict = matcher.classify(recall)
    assert verdict.severity == "critical"
    lot = found(verdict, "lot")["Dynamic Color Black lot 12024090"]
    assert (lot.field, lot.text) == ("summary", "All lots")
    assert "including your lot 12024090" in verdict.reasons[0]


def test_all_lots_of_another_product_are_not_critical(matcher: Matcher) -> None:
    recall = alert(title="Dynamic Color recalls Red tattoo ink", summary="All batches of the Red.")
    assert matcher.classify(recall).severity == "high"


def test_clinic_holding_all_lots_matches_any_lot() -> None:
    watchlist = Watchlist(
        brands=(Brand("Intenze"),),
        lots=(Lot("Intenze", "Bright Red", "all lots"), Lot("Bloodline", "", "all batches")),
        scope=SCOPE,
    )
    matcher = Matcher(watchlist)
    verdict = matcher.classify(
        alert(title="INTENZE recalls Bright Red (Lot SS264) tattoo ink", brands=("INTENZE",))
    )
    assert verdict.severity == "critical"
    lot = found(verdict, "lot")["Intenze Bright Red all lots"]
    assert (lot.field, lot.text) == ("title", "SS264")
    verdict = matcher.classify(alert(title="Bloodline tattoo pigments recalled"))
    assert verdict.severity == "critical"  # a lot's brand is watched even if not listed
    assert found(verdict, "lot")["Bloodline all lots"].text == "Bloodline"
    verdict = matcher.classify(alert(title="INTENZE recalls Royal Blue tattoo ink"))
    assert verdict.severity == "high"


# -- relevance and severity ------------------------------------------------------------------


def test_tattoo_ink_with_arsenic_is_relevant_medium(matcher: Matcher) -> None:
    verdict = matcher.classify(
        alert(
            title="Tattoo ink \u2014 Quantum \u2014 Cookie Monster",
            brands=("Quantum",),
            hazards=("The product has an excessive concentration of arsenic.",),
        )
    )
    assert (verdict.relevant, verdict.severity) == (True, "medium")
    assert verdict.reasons == (
        "It reports arsenic (metal contamination).",
        "It is about tattoo ink.",
    )
    assert found(verdict, "contaminant")["arsenic"] == Match(
        "contaminant", "arsenic", "hazards", "arsenic"
    )


@pytest.mark.parametrize(
    "case",
    [
        alert(
            title="Product Recall: Sandhaven Black Henna Body Art Paste",
            summary="Temporary tattoo paste with p-phenylenediamine (PPD) at 4.1% w/w.",
        ),
        alert(title="Pride temporary tattoos 4 pack", summary="Tattoo sticker sheets."),
        alert(title="Power supply; Beiyi ; Tattoo Kit Power Supply", summary="Electric shock."),
        alert(title="Earrings", hazards=("The rate of nickel release is too high.",)),
        alert(
            title="Xerox recalls Solid Ink sticks",
            summary="Printer ink sticks for ColorQube printers; contains nickel.",
        ),
        alert(title="Dynamic power drill", brands=("Dynamic",), summary="Lead in the grip."),
        alert(title="Toy tattoo kit ; Clementoni", products=("Toy tattoo kit",)),
    ],
    ids=["henna", "temporary-tattoo", "machine", "earrings", "printer", "power-tool", "toy"],
)
def test_not_about_skin_pigments(matcher: Matcher, case: Alert) -> None:
    verdict = matcher.classify(case)
    assert (verdict.relevant, verdict.severity) == (False, None)
    assert all(m.kind == "exclusion" for m in verdict.matches)


def test_exclusion_says_why(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Black henna tattoo cones withdrawn"))
    assert verdict.reasons == ("It is about henna, not a skin pigment.",)


def test_brand_without_context_need_makes_an_alert_relevant(matcher: Matcher) -> None:
    notice = alert(
        title="Cosmetics compliance notice", summary="Warning letter.", brands=("Intenze",)
    )
    verdict = matcher.classify(notice)
    assert (verdict.relevant, verdict.severity) == (True, "high")
    assert verdict.reasons == ("It names Intenze, a brand on your watchlist.",)


@pytest.mark.parametrize(
    "title",
    [
        "PMU pigment recalled",
        "Microblading pigment sold online",
        "Scalp micropigmentation ink withdrawn",
        "Warning about a permanent make-up pigment",
    ],
)
def test_pmu_microblading_and_smp_are_relevant(matcher: Matcher, title: str) -> None:
    verdict = matcher.classify(alert(title=title))
    assert (verdict.relevant, verdict.severity) == (True, "low")
    assert len([r for r in verdict.reasons if r.startswith("It is about")]) == 1


def test_safety_gate_brand_needing_context_is_high(matcher: Matcher) -> None:
    verdict = matcher.classify(
        alert(
            title="Tattoo ink \u2014 WORLD FAMOUS \u2014 Medium Blue 1v2",
            brands=("WORLD FAMOUS",),
            products=("Medium Blue 1v2",),
        )
    )
    assert verdict.severity == "high"
    assert found(verdict, "brand")["World Famous"] == Match(
        "brand", "World Famous", "title", "WORLD FAMOUS"
    )


def test_irrelevant_alert_without_terms_is_plain(matcher: Matcher) -> None:
    verdict = matcher.classify(alert(title="Telescopic ladder", summary="May bend."))
    assert verdict == Verdict(relevant=False, severity=None)


def test_classify_many_keeps_order(matcher: Matcher) -> None:
    alerts = [alert(title="Tattoo ink"), alert(title="Earrings")]
    assert [v.relevant for v in matcher.classify_many(alerts)] == [True, False]


def test_empty_watchlist_finds_nothing() -> None:
    assert Matcher(Watchlist()).classify(alert(title="Tattoo ink")).relevant is False


def test_build_is_quick_for_ten_thousand_terms() -> None:
    brands = tuple(Brand(f"Brand{i:05d} Colours") for i in range(10_000))
    started = time.perf_counter()
    matcher = Matcher(Watchlist(brands=brands, scope=SCOPE))
    assert time.perf_counter() - started < 1.0
    verdict = matcher.classify(alert(title="Tattoo ink \u2014 Brand04711 Colours"))
    assert verdict.severity == "high"


def test_lot_reason_does_not_repeat_the_brand() -> None:
    held = HeldLot(
        Lot("Dynamic Color", "Dynamic Ultra White", "WUL-020124-D1"),
        "Dynamic Color",
        "WUL020124D1",
        "dynamic ultra white",
    )
    assert held.label == "Dynamic Ultra White (Dynamic Color)"
    plain = HeldLot(Lot("Dynamic Color", "Black", "12024090"), "Dynamic Color", "12024090", "black")
    assert plain.label == "Dynamic Color Black"


def test_ink_signals_give_a_brand_that_needs_context_its_context() -> None:
    """Where a signal counts (title, products, summary; not inside the brand's own name, not
    in the lots or hazards), how `#` reads, and that signals built in code that say nothing
    are left out rather than matching everything."""
    scope = Scope(
        include=("tattoo",),
        exclude=("printer",),
        ink_signals=("ink", "CI #", "# g", "2 oz", "#", "# and #"),
    )
    brands = (Brand("Solid Ink", ("Solid Ink Brand",), needs_context=True),)
    matcher = Matcher(Watchlist(brands=brands, scope=scope))

    def signals(**fields: object) -> list[str] | None:
        verdict = matcher.classify(alert(**fields))
        return [m.text for m in verdict.matches if m.kind == "scope"] if verdict.relevant else None

    # "CI #" does not read "C.I." (normalized "c i"): the shipped list has "C.I. #" as well
    assert signals(title="Solid Ink Red", summary="C.I. 12345 in red ink") == ["ink"]
    assert signals(title="Solid Ink Red", products=("CI12475, 30g",)) == ["CI12475", "30g"]
    assert signals(title="Solid Ink Brand Red 2oz") == ["2oz"]
    assert signals(title="Solid Ink Brand Red 2.5 oz") is None  # "2 oz" is not "2 5 oz"
    assert signals(title="Solid Ink Red") is None  # "Ink" is the brand's own
    assert signals(title="Solid Ink Red", lots=("CI 12345",), hazards=("ink",)) is None
    assert signals(title="Solid Ink Red ink for printer") is None  # the exclusion wins
    assert signals(title="Red ink, CI 12345") is None  # a signal without a brand says nothing
