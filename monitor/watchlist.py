"""watchlist.toml → Watchlist: the brands, contaminants, lots and scope words alerts are matched on.

Every problem is a ConfigError naming the file, the entry and the key, with the line where it
can be found. Entries are numbered from 1 in file order: ``brand[3]`` is the third ``[[brand]]``.
``summarize`` gives the lines of ``inkwatch watchlist check``: counts, then warnings about
things that are allowed but probably not meant.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError
from monitor.model import CONTAMINANT_CLASSES, Brand, Contaminant, Lot, Scope, Watchlist
from monitor.text.cas import cas_check_digit
from monitor.tomlfile import TomlLines, read_toml

DEFAULT_WATCHLIST = "watchlist.toml"

# The keys of each kind of [[entry]], with the default that gives each key its type.
ENTRY_KEYS: Mapping[str, Mapping[str, Any]] = {
    "brand": {"name": "", "aliases": [], "needs_context": False},
    "contaminant": {"name": "", "class": "", "aliases": [], "cas": [], "ci": []},
    "lot": {"brand": "", "product": "", "lot": "", "note": "", "received": None, "expires": None},
}
REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    "brand": ("name",),
    "contaminant": ("name", "class"),
    "lot": ("brand", "product", "lot"),
}
SCOPE_KEYS: Mapping[str, Any] = {"include": [], "exclude": [], "ink_signals": []}
TABLES = "[scope], [[brand]], [[contaminant]], [[lot]]"

_CAS = re.compile(r"(\d{2,7})-(\d{2})-(\d)")
_SCOPE_HINT = (
    'add [scope] with include = ["tattoo", "tattoo ink", …]; the default watchlist has one'
)


def load_watchlist(path: Path) -> Watchlist:
    """Read and validate ``path``; raise ConfigError (file:line, what, what to do) on a mistake."""
    text, data = read_toml(
        path,
        missing_hint="run `inkwatch init` to write the default watchlist, or pass --watchlist PATH",
    )
    return _build(TomlLines(path, text), data)


def cas_problem(cas: str) -> tuple[str, str] | None:
    """What is wrong with ``cas`` as a CAS registry number, and what to do; None if nothing."""
    match = _CAS.fullmatch(cas)
    if not match:
        return (
            "is not a CAS number",
            'write it like "50-32-8" (digits, two digits, a check digit); '
            "put remarks in a # comment",
        )
    check = cas_check_digit(match[1] + match[2])
    if check != int(match[3]):
        return (
            f"has a wrong check digit (it should end in {check})",
            "copy the number again from its source",
        )
    return None


# -- reading the file ------------------------------------------------------------------------


# -- checking what it says -------------------------------------------------------------------


def _build(lines: TomlLines, data: dict[str, Any]) -> Watchlist:
    _check_top(lines, data)
    brands = _entries(lines, data, "brand")
    contaminants = _entries(lines, data, "contaminant")
    lots = _entries(lines, data, "lot")
    for number, entry in enumerate(contaminants, 1):
        _check_contaminant(lines, number, entry)
    _check_unique(lines, "brand", brands, ("name",))
    _check_unique(lines, "contaminant", contaminants, ("name",))
    _check_unique(lines, "lot", lots, ("brand", "product", "lot"))
    return Watchlist(
        brands=tuple(Brand(e["name"], tuple(e["aliases"]), e["needs_context"]) for e in brands),
        contaminants=tuple(
            Contaminant(e["name"], e["class"], tuple(e["aliases"]), tuple(e["cas"]), tuple(e["ci"]))
            for e in contaminants
        ),
        lots=tuple(
            Lot(e["brand"], e["product"], e["lot"], e["note"], e["received"], e["expires"])
            for e in lots
        ),
        scope=_scope(lines, data),
    )


def _check_top(lines: TomlLines, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name in ENTRY_KEYS and not isinstance(value, list):
            raise lines.error(
                f"{name} must be a list of [[{name}]] entries, not a single [{name}] table",
                f"write each {name} as [[{name}]] (double brackets)",
                name,
            )
        if name == "scope" and not isinstance(value, dict):
            raise lines.error(
                "scope must be one [scope] table",
                "write it as [scope] (single brackets) with include = […] and exclude = […]",
                name,
            )
        if name not in ENTRY_KEYS and name != "scope":
            raise _unknown_top(lines, name, value)


def _unknown_top(lines: TomlLines, name: str, value: Any) -> ConfigError:
    hint = f"allowed tables: {TABLES}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return lines.error(f"unknown table [[{name}]]", hint, name, 1)
    if isinstance(value, dict):
        return lines.error(f"unknown table [{name}]", hint, name)
    return lines.error(f"unknown key '{name}' at the top of the file", hint, None, None, name)


def _entries(lines: TomlLines, data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [_entry(lines, kind, number, raw) for number, raw in enumerate(data.get(kind, []), 1)]


def _entry(lines: TomlLines, kind: str, number: int, raw: Any) -> dict[str, Any]:
    """One [[kind]] entry, checked, with defaults filled in and text trimmed."""
    ref = f"{kind}[{number}]"
    if not isinstance(raw, dict):  # an inline `brand = [...]` at the top of the file
        raise lines.error(
            f"{ref} must be a table, not {_describe(raw)}",
            f"write each {kind} as [[{kind}]] followed by its keys, one per line",
            None,
            None,
            kind,
        )
    allowed = ENTRY_KEYS[kind]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise lines.error(
            f"unknown key '{unknown[0]}' in {_label(kind, number, raw)}",
            f"allowed keys: {', '.join(sorted(allowed))}",
            kind,
            number,
            unknown[0],
        )
    values = {
        key: _checked_value(lines, f"{ref}.{key}", allowed[key], value, (kind, number, key))
        for key, value in raw.items()
    }
    for key in REQUIRED_KEYS[kind]:
        if key not in values:
            raise lines.error(
                f"{_label(kind, number, raw)} has no {key}", f'add {key} = "…"', kind, number
            )
    return {**allowed, **values}


def _checked_value(
    lines: TomlLines, path: str, default: Any, value: Any, place: tuple[str, int | None, str]
) -> Any:
    """``value`` if it has the type of ``default``, trimmed; an error names ``path``."""
    table, number, key = place
    if default is None:  # a day: a TOML date, not a date with a time
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise lines.error(
            f"{path} must be {_type_name(default)}, not {_describe(value)}",
            f"write it like {key} = {_example(default, value)}",
            table,
            number,
            key,
        )
    if isinstance(value, str):
        if not value.strip():
            raise lines.error(f"{path} is empty", "give it a value", *place)
        return value.strip()
    if isinstance(value, list):
        if not all(item.strip() for item in value):
            raise lines.error(f"{path} has an empty string", 'remove the empty string ""', *place)
        return [item.strip() for item in value]
    return value


def _check_contaminant(lines: TomlLines, number: int, entry: dict[str, Any]) -> None:
    if entry["class"] not in CONTAMINANT_CLASSES:
        raise lines.error(
            f"unknown class '{entry['class']}' in {_label('contaminant', number, entry)}",
            f"use one of: {', '.join(CONTAMINANT_CLASSES)}",
            "contaminant",
            number,
            "class",
        )
    for cas in entry["cas"]:
        problem = cas_problem(cas)
        if problem:
            message, hint = problem
            raise lines.error(
                f"contaminant[{number}].cas '{cas}' {message}", hint, "contaminant", number, "cas"
            )


def _check_unique(
    lines: TomlLines, kind: str, entries: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    seen: dict[tuple[str, ...], int] = {}
    for number, entry in enumerate(entries, 1):
        identity = tuple(entry[key].casefold() for key in keys)
        if identity in seen:
            first = seen[identity]
            raise lines.error(
                f"{_label(kind, number, entry)} repeats {_label(kind, first, entries[first - 1])}",
                f"list each {kind} once (compared ignoring case); merge the two entries",
                kind,
                number,
            )
        seen[identity] = number


def _scope(lines: TomlLines, data: dict[str, Any]) -> Scope:
    raw = data.get("scope")
    if raw is None:
        raise lines.error("no [scope] table", _SCOPE_HINT)
    unknown = sorted(set(raw) - set(SCOPE_KEYS))
    if unknown:
        raise lines.error(
            f"unknown key '{unknown[0]}' in [scope]",
            f"allowed keys: {', '.join(SCOPE_KEYS)}",
            "scope",
            None,
            unknown[0],
        )
    values = {
        key: _checked_value(lines, f"scope.{key}", [], raw.get(key, []), ("scope", None, key))
        for key in SCOPE_KEYS
    }
    if not values["include"]:
        raise lines.error(
            "scope.include is empty",
            'list the words that make an alert about skin pigments: include = ["tattoo", …]',
            "scope",
            None,
            "include",
        )
    for signal in values["ink_signals"]:
        _check_signal(lines, signal)
    return Scope(
        include=tuple(values["include"]),
        exclude=tuple(values["exclude"]),
        ink_signals=tuple(values["ink_signals"]),
    )


def _check_signal(lines: TomlLines, signal: str) -> None:
    """An ink signal is words, with at most one # standing for a number ("# oz")."""
    if not re.search(r"[^\W_]", signal.replace("#", " ")):
        problem = "has no word besides the number sign #"
    elif signal.count("#") > 1:
        problem = "has more than one number sign #"
    else:
        return
    raise lines.error(
        f"scope.ink_signals '{signal}' {problem}",
        'write a word, or a word and one # for a number, like "lining", "# oz" or "CI #"',
        "scope",
        None,
        "ink_signals",
    )


def _label(kind: str, number: int, entry: Mapping[str, Any]) -> str:
    """``brand[3] ("Dynamic Color")``: the entry's place, and its name where it has one."""
    keys = ("product", "brand") if kind == "lot" else ("name",)
    name = next((entry[k] for k in keys if isinstance(entry.get(k), str) and entry[k]), None)
    return f'{kind}[{number}] ("{name.strip()}")' if name else f"{kind}[{number}]"


def _type_name(value: Any) -> str:
    if value is None:
        return "a date"
    if isinstance(value, datetime):
        return "a date with a time"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, list):
        return "a list of strings"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _describe(value: Any) -> str:
    if isinstance(value, list):
        odd = next((item for item in value if not isinstance(item, str)), None)
        return f"a list holding {_type_name(odd)} ({odd!r})"
    if isinstance(value, dict):
        return "a table"
    return f"{_type_name(value)} ({value!r})"


def _example(default: Any, value: Any) -> str:
    if default is None:
        return "2018-09-01 (a TOML date: no quotes, no time)"
    if isinstance(default, bool):
        return "true"
    if isinstance(default, list):
        words = [value] if isinstance(value, str) else ["…", "…"]
        return "[" + ", ".join(f'"{word}"' for word in words) + "]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'"{value}"'
    return '"…"'


# -- inkwatch watchlist check ----------------------------------------------------------------


def summarize(watchlist: Watchlist) -> list[str]:
    """One line of counts, then one ``warning: …`` line per thing worth a second look."""
    return [
        _counts(watchlist),
        *_lot_brand_warnings(watchlist),
        *_shared_term_warnings(watchlist),
        *_scope_warnings(watchlist.scope),
    ]


def _counts(watchlist: Watchlist) -> str:
    brands = _count(len(watchlist.brands), "brand")
    if watchlist.brands:
        context = sum(brand.needs_context for brand in watchlist.brands)
        brands += f" ({context} {'needs' if context == 1 else 'need'} context)"
    contaminants = _count(len(watchlist.contaminants), "contaminant")
    if watchlist.contaminants:
        per_class = Counter(c.kind for c in watchlist.contaminants)
        listed = ", ".join(
            f"{kind} {per_class[kind]}" for kind in CONTAMINANT_CLASSES if per_class[kind]
        )
        contaminants += f" ({listed})"
    counts = [
        brands,
        contaminants,
        _count(len(watchlist.lots), "lot"),
        _count(len(watchlist.scope.include), "scope word"),
        _count(len(watchlist.scope.exclude), "exclusion"),
    ]
    if watchlist.scope.ink_signals:
        counts.append(_count(len(watchlist.scope.ink_signals), "ink signal"))
    return ", ".join(counts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _lot_brand_warnings(watchlist: Watchlist) -> Iterable[str]:
    known = {term.casefold() for brand in watchlist.brands for term in (brand.name, *brand.aliases)}
    for number, lot in enumerate(watchlist.lots, 1):
        if lot.brand.casefold() not in known:
            yield (
                f'warning: lot[{number}] ("{lot.product}"): brand "{lot.brand}" is not on the '
                "brand list; add a [[brand]] for it so alerts that write it differently "
                "still find the lot"
            )


def _shared_term_warnings(watchlist: Watchlist) -> Iterable[str]:
    """Names, aliases, CAS and CI codes that point at more than one entry."""
    owners: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    entries: list[tuple[str, str, tuple[str, ...]]] = [
        ("brand", b.name, (b.name, *b.aliases)) for b in watchlist.brands
    ]
    entries += [
        ("contaminant", c.name, (c.name, *c.aliases, *c.cas, *c.ci)) for c in watchlist.contaminants
    ]
    for kind, name, terms in entries:
        owner = f'{kind} "{name}"'
        for term in terms:
            folded = term.casefold()
            spelling.setdefault(folded, term)
            if owner not in owners.setdefault(folded, []):
                owners[folded].append(owner)
    for folded, names in owners.items():
        if len(names) > 1:
            yield (
                f'warning: "{spelling[folded]}" names {_and(names)}: '
                "an alert that uses it matches each of them"
            )


def _scope_warnings(scope: Scope) -> Iterable[str]:
    excluded = {word.casefold() for word in scope.exclude}
    for word in scope.include:
        if word.casefold() in excluded:
            yield f'warning: "{word}" is both in scope.include and in scope.exclude'


def _and(items: list[str], most: int = 4) -> str:
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    return ", ".join(items[:-1]) + " and " + items[-1]
