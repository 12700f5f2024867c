"""Time the matcher: build a large watchlist's automaton, then scan and classify many alerts.

    python bench/match.py [--terms 10000] [--alerts 100000] [--runs 5] [--seed 1]

The watchlist holds synthetic brands and contaminants plus the scope words, ``--terms``
entries in all (aliases and notation variants come on top). The alerts are shaped like real
ones: Safety Gate style "Tattoo ink — Brand — Name" titles with a 200–600 character hazard
text, FDA style recall texts naming lots, and unrelated products (toys, jewellery, henna).

Targets: build under 1 s; at least 100,000 alerts/s for the matching step (``scan``:
normalization and the automaton pass). ``classify`` adds the relevance rules, lot checks and
quoting each reported match in the alert's own characters; its rate is printed beside it.
The sample is frozen out of the cyclic GC before timing: it is input, not work.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence

from monitor.match import Matcher
from monitor.model import Alert, Brand, Contaminant, Lot, Scope, Watchlist
from monitor.text.cas import cas_is_valid

SCOPE = Scope(
    include=(
        "tattoo",
        "tattoo ink",
        "tattoo pigment",
        "permanent make-up",
        "permanent makeup",
        "PMU",
        "micropigmentation",
        "scalp micropigmentation",
        "microblading",
        "cosmetic tattoo",
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
    ),
)
SYLLABLES = (
    "ka", "ri", "mo", "zen", "tu", "la", "vex", "qui", "dra", "sol",
    "nor", "pix", "bel", "gar", "ost", "ul", "fen", "tro", "mia", "dax",
)  # fmt: skip
CLASSES = ("metal", "pah", "aromatic_amine", "microbial", "restricted_pigment", "other")
OTHER_PRODUCTS = (
    "Toy car",
    "Earrings",
    "Telescopic ladder",
    "Phone charger",
    "Black henna cone",
    "Temporary tattoo sheet",
    "Kettle",
    "Children's jacket",
    "Bicycle helmet",
    "Face cream",
)
FILLER = (
    "The product does not comply with the requirements of the REACH Regulation. ",
    "Consumers should stop using the product and return it to the place of purchase. ",
    "The measured value exceeds the limit set for mixtures used for tattooing. ",
    "Infections can look like a rash or red papules where the ink went in. ",
    "The product was sold online and in specialised shops in several countries. ",
    "Lead is harmful to human health, accumulates in the body and may affect fertility. ",
)


def name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def cas_number(rng: random.Random) -> str:
    while True:
        cas = f"{rng.randint(50, 99999)}-{rng.randint(10, 99)}-{rng.randint(0, 9)}"
        if cas_is_valid(cas):
            return cas


def watchlist(terms: int, rng: random.Random) -> Watchlist:
    free = terms - len(SCOPE.include) - len(SCOPE.exclude)
    brand_names = list(dict.fromkeys(f"{name(rng, 3)} Ink" for _ in range(free * 2)))
    brands = tuple(
        Brand(
            brand,
            aliases=(brand.removesuffix(" Ink"),) if i % 3 == 0 else (),
            needs_context=i % 10 == 0,
        )
        for i, brand in enumerate(brand_names[: free * 6 // 10])
    )
    contaminants = tuple(
        Contaminant(
            f"{name(rng, 2).lower()}-{name(rng, 3).lower()}ine",
            CLASSES[i % len(CLASSES)],
            aliases=(f"{name(rng, 2).upper()}X",) if i % 2 else (),
            cas=(cas_number(rng),),
        )
        for i in range(free - len(brands))
    )
    lots = tuple(Lot(b.name, "Black", f"{rng.randint(10**7, 10**8 - 1)}") for b in brands[:50])
    return Watchlist(brands=brands, contaminants=contaminants, lots=lots, scope=SCOPE)


def hazard_text(rng: random.Random, found: Sequence[str]) -> str:
    text = f"The product has an excessive concentration of {', '.join(found)}. "
    target = rng.randint(200, 600)
    while len(text) < target:
        text += rng.choice(FILLER)
    return text[:target]


def safety_gate_ink(i: int, brand: str, found: list[str], rng: random.Random) -> Alert:
    """A tattoo ink with chemical contaminants, as the Safety Gate parser writes it."""
    product = f"{name(rng, 2)} {rng.choice(('Black', 'Red', 'Blue'))}"
    return Alert(
        source="eu_safety_gate",
        ref=f"A12/{i:07d}/24",
        title=f"Tattoo ink — {brand} — {product}",
        brands=(brand,),
        products=(product,),
        lots=(f"L{rng.randint(1000, 9999)}", f"{rng.randint(10**12, 10**13)}"),
        hazards=(hazard_text(rng, found), "Chemical", "Serious risk"),
        category="Chemical products",
    )


def fda_recall(i: int, brand: str, found: list[str], wl: Watchlist, rng: random.Random) -> Alert:
    """A microbial recall with its lots in the text; one in ten names a lot the clinic holds."""
    lot_a, lot_b = rng.randint(10**7, 10**8 - 1), rng.randint(10**7, 10**8 - 1)
    if rng.random() < 0.1:
        held = rng.choice(wl.lots)
        brand, lot_a = held.brand, int(held.lot)
    summary = (
        f"{brand} is recalling tattoo pigments contaminated with microorganisms: "
        f"Black, lot numbers {lot_a} and {lot_b}. " + hazard_text(rng, found)
    )
    return Alert(
        source="fda_recalls",
        ref=f"fda-{i}",
        title=f"{brand} Recalls Tattoo Pigments Because of Possible Health Risk",
        summary=summary,
        brands=(brand,),
        products=("Water Based Tattoo Pigments",),
        category="Cosmetics",
    )


def other_product(i: int, found: list[str], rng: random.Random) -> Alert:
    """Everything else a regulator publishes: toys, jewellery, henna, chargers."""
    product = rng.choice(OTHER_PRODUCTS)
    return Alert(
        source="eu_safety_gate",
        ref=f"A12/{i:07d}/24",
        title=f"{product} — {name(rng, 2)}",
        summary=f"{product} sold online.",
        hazards=(hazard_text(rng, found), "Chemical", "Serious risk"),
    )


def alerts(n: int, wl: Watchlist, rng: random.Random) -> list[Alert]:
    """Four in ten Safety Gate inks, one in ten FDA recalls, the rest other products."""
    brands = [b.name for b in wl.brands]
    substances = [c.name for c in wl.contaminants] + [c.cas[0] for c in wl.contaminants]
    made = []
    for i in range(n):
        found = rng.sample(substances, rng.randint(1, 3))
        brand = rng.choice(brands) if rng.random() < 0.7 else name(rng, 2)
        if i % 10 < 4:
            made.append(safety_gate_ink(i, brand, found, rng))
        elif i % 10 == 4:
            made.append(fda_recall(i, brand, found, wl, rng))
        else:
            made.append(other_product(i, found, rng))
    return made


def rates(step: Callable[[], object], count: int, runs: int) -> str:
    """The best rate of ``runs`` runs (as timeit reads it: other work on the machine only
    ever adds time) and their median, for the reader to see the spread."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    best, median = count / min(times), count / statistics.median(times)
    return f"{best:,.0f} alerts/s (best of {runs}; median {median:,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    wl = watchlist(options.terms, rng)
    sample = alerts(options.alerts, wl, rng)

    builds = []
    for _ in range(options.runs):
        started = time.perf_counter()
        matcher = Matcher(wl)
        builds.append(time.perf_counter() - started)
    entries = len(wl.brands) + len(wl.contaminants) + len(SCOPE.include) + len(SCOPE.exclude)
    print(f"terms:        {entries:,} watchlist entries -> {matcher.pattern_count:,} patterns")
    print(f"build:        {min(builds):.3f} s (median {statistics.median(builds):.3f} s)")

    # The sample is input, not work: keep the cyclic GC from walking it again and again.
    gc.collect()
    gc.freeze()
    n = len(sample)
    scan = rates(lambda: deque(map(matcher.scan, sample), maxlen=0), n, options.runs)
    print(f"scan:         {scan}  normalize + one automaton pass")
    classify = rates(lambda: deque(matcher.classify_many(sample), maxlen=0), n, options.runs)
    print(f"classify:     {classify}  rules, lots, quoting the alert's text")
    severities = Counter(v.severity for v in matcher.classify_many(sample))
    print("severities:   " + ", ".join(f"{k}: {v:,}" for k, v in severities.most_common()))


if __name__ == "__main__":
    main()
