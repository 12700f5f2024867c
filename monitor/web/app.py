"""`inkwatch serve`: a small read-only Starlette app over alerts.db, its pages rendered
by Jinja2 with autoescaping on (regulator and clinic text is never markup).

Every response forbids scripts and anything from elsewhere (Content-Security-Policy): the
page loads its one stylesheet from itself and works offline. Off loopback a password is
required (HTTP basic auth), and the app refuses to be made without one."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from monitor.errors import ConfigError
from monitor.store import Store
from monitor.web import views
from monitor.web.atom import render_atom, xml_text

PASSWORD_VARIABLE = "INKWATCH_WEB_PASSWORD"
USER = "inkwatch"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FEED_SIZE = 100  # entries in /atom.xml


@dataclass(frozen=True)
class Site:
    """What the app serves: the database, how regulators are called, the watchlist's
    brands, and the password (None: none asked, only on loopback)."""

    db: Path
    host: str = "127.0.0.1"
    password: str | None = None
    regulators: Mapping[str, str] = field(default_factory=dict)
    brands: Sequence[str] = ()


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_app(site: Site) -> Starlette:
    """The app for ``site``; a ConfigError when it would listen off loopback without a
    password."""
    if not site.password and not is_loopback(site.host):
        raise ConfigError(
            f"serving on {site.host} (not loopback) needs a password",
            hint=f"set {PASSWORD_VARIABLE} in the environment (the user name is {USER!r}),"
            " or serve on --host 127.0.0.1",
        )
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"), autoescape=True, finalize=_printable
    )
    pages = _Pages(site, env)
    routes = [
        Route("/", pages.index),
        Route("/alert/{alert_id}", pages.alert),
        Route("/brands", pages.brands),
        Route("/cases", pages.cases),
        Route("/case/{case_id:int}", pages.case),
        Route("/atom.xml", pages.atom),
        Route("/style.css", pages.style),
    ]
    guard = Middleware(BaseHTTPMiddleware, dispatch=_guard(site.password))
    return Starlette(routes=routes, middleware=[guard])


def _printable(value: Any) -> Any:
    """What a template prints, without control characters (a regulator's text can hold
    them; HTML has no use for them). Autoescaping follows; a macro's output, already
    markup made of escaped text, is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return xml_text(value)
    return value


def _guard(
    password: str | None,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Basic auth when there is a password, and the security headers on every answer."""

    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        if password and not _authorized(request.headers.get("authorization", ""), password):
            response: Response = PlainTextResponse(
                "A password is needed.",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="InkWatch", charset="UTF-8"'},
            )
        else:
            response = await call_next(request)
        response.headers.update(HEADERS)
        return response

    return guard


def _authorized(header: str, password: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(f"{user}:{given}".encode(), f"{USER}:{password}".encode())


class _Pages:
    """The endpoints; each opens the store for its request (sqlite connections stay in
    one thread) and closes it."""

    def __init__(self, site: Site, env: Environment):
        self.site = site
        self.env = env

    def _page(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status)

    def _missing(self, what: str) -> HTMLResponse:
        return self._page("missing.html", 404, what=what)

    def index(self, request: Request) -> Response:
        filters = views.Filters.of(request.query_params)
        with Store.open(self.site.db, create=False) as store:
            rows = views.alert_list(store, filters)
            options = views.choices(store, self.site.regulators, self.site.brands)
        return self._page(
            "alerts.html",
            alerts=rows,
            filters=filters,
            options=options,
            regulators=self.site.regulators,
            limit=views.PAGE_SIZE,
        )

    def alert(self, request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        with Store.open(self.site.db, create=False) as store:
            found = views.one_alert(store, alert_id)
        if found is None:
            return self._missing(f"alert {alert_id}")
        return self._page("alert.html", regulators=self.site.regulators, **found)

    def brands(self, request: Request) -> Response:
        with Store.open(self.site.db, create=False) as store:
            rows = views.brand_history(store, self.site.brands, self.site.regulators)
        return self._page("brands.html", brands=rows)

    def cases(self, request: Request) -> Response:
        with Store.open(self.site.db, create=False) as store:
            rows = views.open_cases(store)
        return self._page("cases.html", cases=rows)

    def case(self, request: Request) -> Response:
        case_id = request.path_params["case_id"]
        with Store.open(self.site.db, create=False) as store:
            case = store.case(case_id)
        if case is None:
            return self._missing(f"case {case_id}")
        return self._page("case.html", case=views.case_summary(case))

    def atom(self, request: Request) -> Response:
        filters = views.Filters.of(request.query_params)
        with Store.open(self.site.db, create=False) as store:
            rows = store.alerts(filters.query(limit=FEED_SIZE))
        body = render_atom(rows, regulators=self.site.regulators)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def style(self, request: Request) -> Response:
        css = (Path(__file__).parent / "templates" / "style.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css; charset=utf-8")
