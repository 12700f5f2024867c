"""`inkwatch link A B` and `inkwatch unlink A B`: the operator says two alerts are, or are
not, the same recall; and what `show` and `alerts --grouped` print of a recall group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, one_alert, pass_app
from monitor.cli.output import TABLE_WIDTH, cut, one_line
from monitor.errors import MonitorError
from monitor.store import Store


@cli.command("link")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@pass_app
def link_cmd(app: App, first: str, second: str) -> None:
    """Link two alerts (ids or regulators' references) as one recall."""
    with app.store() as store:
        a, b = _pair(store, first, second)
        with store.transaction():
            made = store.link_alerts(a["num"], b["num"], 1.0, {"kind": "operator"}, "operator")
        size = len(store.group_nums(a["num"]))
    said = "Linked" if made else "Already linked:"
    click.echo(f"{said} {_name(a)} and {_name(b)}: one recall of {size} notices.")


@cli.command("unlink")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@pass_app
def unlink_cmd(app: App, first: str, second: str) -> None:
    """Two alerts are not the same recall: their link goes, and automatic linking never
    links them again (`inkwatch link A B` undoes this)."""
    with app.store() as store:
        a, b = _pair(store, first, second)
        with store.transaction():
            removed = store.unlink_alerts(a["num"], b["num"], by="operator")
        together = b["num"] in store.group_nums(a["num"])
    if removed:
        click.echo(f"Unlinked {_name(a)} and {_name(b)}; they will not be linked again.")
    else:
        click.echo(f"{_name(a)} and {_name(b)} were not linked; they will not be linked.")
    if together:
        click.echo(
            "They are still one recall through other notices: `inkwatch show "
            f"{a['id']}` lists its links; unlink those too."
        )


def _pair(store: Store, first: str, second: str) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = _one(store, first), _one(store, second)
    if a["num"] == b["num"]:
        raise MonitorError(
            f"{one_line(first)!r} and {one_line(second)!r} are the same alert",
            hint="give two different alerts",
        )
    return a, b


def _one(store: Store, key: str) -> dict[str, Any]:
    """The alert ``key`` names (id, id prefix or the regulator's reference), with its num."""
    row = one_alert(store, key)
    row["num"] = store.num_of(row["id"])
    return row


def _name(row: dict[str, Any]) -> str:
    return f"{row['id']} ({one_line(row['source'])} {one_line(row['ref'])})"


def group_of(store: Store, alert_id: str) -> dict[str, Any]:
    """Every notice of the alert's recall group, and the links between them."""
    num = store.num_of(alert_id)
    if num is None:
        return {"notices": [], "links": []}
    notices = store.group_notices(num)
    ids = {row["num"]: row["id"] for row in notices}
    links = [
        {
            "a": ids[link["a"]],
            "b": ids[link["b"]],
            "score": link["score"],
            "made_by": link["made_by"],
            "evidence": link["evidence"],
        }
        for link in store.group_links(list(ids))
    ]
    keys = ("id", "source", "ref", "date", "url", "title")
    return {"notices": [{k: row[k] for k in keys} for row in notices], "links": links}


def group_lines(group: dict[str, Any]) -> Iterable[str]:
    """What `show` prints of a group of more than one notice."""
    if len(group["notices"]) < 2:
        return
    yield f"{'recall:':<12} {len(group['notices'])} notices of one recall"
    for row in group["notices"]:
        yield (
            f"  {cut(row['source'], 16):<16} {cut(row['ref'], 22):<22} "
            f"{(row['date'] or '')[:10]:<10} {one_line(row['url'])}"
        )
    for link in group["links"]:
        evidence = link["evidence"]
        what = ", ".join(
            f"{key} {'/'.join(value) if isinstance(value, list) else value}"
            for key, value in evidence.items()
            if key not in ("kind", "score")
        )
        yield (
            f"  link {link['a']} – {link['b']}: {evidence.get('kind', '')} "
            f"{link['score']:.1f} by {link['made_by']}" + (f" ({one_line(what)})" if what else "")
        )


def grouped(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per recall group (its newest notice), with the group's regulators."""
    groups = store.groups_of_ids([row["id"] for row in rows])
    seen: set[int] = set()
    out = []
    for row in rows:
        group = groups.get(row["id"])
        if group is not None and group in seen:
            continue
        if group is not None:
            seen.add(group)
        notices = store.group_notices(group) if group is not None else []
        sources = sorted({notice["source"] for notice in notices} | {row["source"]})
        out.append(
            {
                "id": row["id"],
                "date": row["date"],
                "severity": row.get("severity"),
                "regulators": sources,
                "notices": max(len(notices), 1),
                "title": row["title"],
                "products": row.get("products") or [],
            }
        )
    return out


def grouped_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    product_width = TABLE_WIDTH - (16 + 10 + 8 + 30) - 4
    yield f"{'ID':<16} {'DATE':<10} {'SEVERITY':<8} {'REGULATORS':<30} PRODUCT (OR TITLE)"
    for row in rows:
        regulators = ", ".join(row["regulators"])
        product = "; ".join(row["products"]) or row["title"]
        yield (
            f"{row['id']:<16} {(row['date'] or '')[:10]:<10} {row['severity'] or '':<8} "
            f"{cut(regulators, 30):<30} {cut(product, product_width)}"
        ).rstrip()
