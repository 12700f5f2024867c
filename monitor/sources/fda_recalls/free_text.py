"""What the FDA notices say in free text: lot codes, microorganisms, and the sentences
telling people what to do."""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.sources.fda_recalls.common import cap
from monitor.text.clean import space_sentences, unique
from monitor.text.lots import NOTICE_MENTIONS
from monitor.text.lots import find_lots as lots_named

ACTION_MAX = 1000


def find_lots(text: str) -> list[str]:
    """Lot codes named in ``text`` ("Lot#: RB0624", "lots 12024090 and 12026090", "all lots"),
    read as FDA notices write them (:data:`monitor.text.lots.NOTICE_MENTIONS`).

    Batch numbers count only where no lot is named ("Batch #1 Lot BL23" gives BL23).
    A code must contain a digit; reading stops at the first word that is not one.
    """
    return lots_named(text, NOTICE_MENTIONS)


_GENERA = (
    "Achromobacter|Acetobacter|Acinetobacter|Aspergillus|Bacillus|Brachybacterium|"
    "Burkholderia|Candida|Citrobacter|Cladosporium|Cupriavidus|Curtobacterium|Enterobacter|"
    "Enterococcus|Escherichia|Fusarium|Klebsiella|Kocuria|Methylobacterium|Mycobacterium|"
    "Ochrobactrum|Paenibacillus|Penicillium|Pluralibacter|Proteus|Pseudomonas|Ralstonia|"
    "Serratia|Sphingomonas|Staphylococcus|Stenotrophomonas|Streptococcus"
)
# Genus in any case ("bacillus cereus" in older notices), species in lower case.
_ORGANISM = re.compile(
    rf"\b(?i:(?P<genus>{_GENERA}))\b(?:\s+(?P<species>[a-z]{{3,}}(?:/[a-z]+)?))?"
)
_NOT_SPECIES = frozenset(
    {
        "and", "are", "bacteria", "can", "contamination", "found", "from", "has", "have",
        "including", "may", "spp", "species", "that", "the", "was", "were", "which", "with",
    }
)  # fmt: skip


def organisms(texts: Iterable[str]) -> tuple[str, ...]:
    """Microorganisms named in the texts, "Genus species" (or the genus alone), in order."""
    named: list[str] = []
    for text in texts:
        for match in _ORGANISM.finditer(text):
            genus, species = match["genus"].capitalize(), match["species"]
            named.append(
                genus if species is None or species in _NOT_SPECIES else f"{genus} {species}"
            )
    with_species = {name.split(" ", 1)[0] for name in named if " " in name}
    return unique(name for name in named if " " in name or name not in with_species)


_ACTION = re.compile(
    r"\bavoid (?:using|selling|buying|purchasing|receiving)\b|\bshould not (?:use|sell|be used)\b"
    r"|\b(?:do|must) not (?:use|sell)\b|\bstop (?:using|selling)\b|\bdiscontinue\b"
    r"|\bdispos(?:e|al)\b|\bdiscard\b|\bdestroy\b|\breturn\b"
    r"|\bremove\b.{0,60}\bfrom (?:their |your |the )?(?:inventor(?:y|ies)|shelves|kits?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])")


def action(blocks: list[str]) -> str:
    """The sentences telling people what to do (avoid, stop using, dispose, return…)."""
    sentences = (
        sentence.strip()
        for block in blocks
        for sentence in _SENTENCE_END.split(space_sentences(block))
    )
    return cap(" ".join(unique(s for s in sentences if _ACTION.search(s))), ACTION_MAX)
