"""sources.toml validation: every error names the file (and line), what is wrong, what to do."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import sources
from monitor.cli import cli
from monitor.config import kind_defaults, load_config, parse_duration, parse_size
from monitor.errors import ConfigError
from monitor.model import DigestSchedule, SourceKind

KINDS = {
    "feed": SourceKind(
        "feed",
        "any feed",
        "monitor.sources.feed",
        "https://example.org/rss",
        "1h",
        {"include": [], "country": ""},
    ),
    "other": SourceKind("other", "other", "monitor.sources.other", "https://regulator.test/x"),
}


def write(tmp_path: Path, text: str | bytes, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, KINDS)
    return info.value


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), ("1w", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "6", "6x", "h6", "0s", "1h 3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("64MB") == 64 * 1024 * 1024
    assert parse_size("10 kb") == 10240
    assert parse_size(123) == 123
    with pytest.raises(ValueError):
        parse_size("lots")


def test_kind_alone_is_a_valid_source(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[sources.news]\nkind = "other"\n'), KINDS)
    news = config.sources["news"]
    assert news.url == "https://regulator.test/x"
    assert news.interval == timedelta(hours=6)
    assert news.enabled is True


def test_section_named_after_a_kind_needs_no_kind_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[sources.other]\n"), KINDS)
    assert config.sources["other"].kind == "other"


@pytest.mark.parametrize("kinds", [KINDS, sources.REGISTRY], ids=["test kinds", "registry"])
def test_a_feed_source_needs_a_url(tmp_path: Path, kinds) -> None:
    path = write(tmp_path, '[settings]\ncontact = "a@b.c"\n\n[sources.news]\nkind = "feed"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, kinds)
    assert str(info.value) == (
        f"{path}:4: [sources.news] has no url: a feed source has no address of its own — "
        'add url = "https://…" under [sources.news] (the address of the feed to poll)'
    )
    assert info.value.exit_code == 2
    with pytest.raises(ConfigError, match="has no address of its own"):
        kind_defaults(sources.REGISTRY["feed"])  # `inkwatch fetch feed` without a config
    given = write(tmp_path, '[sources.news]\nkind = "feed"\nurl = "https://a.test/rss"\n')
    assert load_config(given, kinds).sources["news"].url == "https://a.test/rss"


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("retries = -1", "settings.retries must be zero or more, not -1 — give a whole number"),
        ("max_redirects = -2", "settings.max_redirects must be zero or more, not -2"),
        ("total_timeout = 0", "settings.total_timeout must be more than zero, not 0.0"),
        ("connect_timeout = -1", "settings.connect_timeout must be more than zero, not -1.0"),
        ("read_timeout = 0", "settings.read_timeout must be more than zero, not 0.0"),
        ("read_timeout = inf", "settings.read_timeout must be more than zero, not inf"),
        ("total_timeout = nan", "settings.total_timeout must be more than zero, not nan"),
        ("retry_after_max = 0", "settings.retry_after_max must be more than zero"),
        ("host_spacing = -0.5", "settings.host_spacing must be zero or more, not -0.5"),
        ('max_body_size = "0MB"', "settings.max_body_size must be more than zero, not '0MB'"),
    ],
)
def test_numbers_out_of_range_name_the_line(tmp_path: Path, line: str, wanted: str) -> None:
    path = write(tmp_path, f'[settings]\ncontact = "a@b.c"\n{line}\n')
    err = error_of(path)
    assert str(err).startswith(f"{path}:3: {wanted}")
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("smtp_port = 0", "email.smtp_port must be between 1 and 65535, not 0"),
        ("smtp_port = 70000", "email.smtp_port must be between 1 and 65535, not 70000"),
        ("failure_notice_after = 0", "email.failure_notice_after must be between 1 and 10000"),
        ('send_interval = "0s"', "email.send_interval: '0s' must be longer than zero"),
    ],
)
def test_email_numbers_out_of_range_name_the_line(tmp_path: Path, line: str, wanted: str) -> None:
    path = write(tmp_path, f'[email]\nfrom = "a@b.c"\n{line}\n')
    assert str(error_of(path)).startswith(f"{path}:3: {wanted}")


def test_zero_retries_and_zero_spacing_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "[settings]\nretries = 0\nhost_spacing = 0\nmax_redirects = 0\n")
    fetch = load_config(path, KINDS).settings.fetch
    assert (fetch.retries, fetch.host_spacing, fetch.max_redirects) == (0, 0.0, 0)


def test_a_zero_interval_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.n]\nkind = "other"\ninterval = "0m"\n')
    assert str(error_of(path)).startswith(f"{path}:3: sources.n.interval: '0m' must be longer")


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[settings]
database = "data/alerts.db"
contact = "ops@clinic.example"
total_timeout = 30
max_body_size = "8MB"

[email]
from = "inkwatch@clinic.example"
admin = "ops@clinic.example"
smtp_host = "127.0.0.1"
smtp_port = 2525
smtp_security = "none"

[sources.local]
kind = "feed"
url = "http://127.0.0.1:8080/rss.xml"
interval = "90s"
include = ["tattoo", "ink"]
""",
    )
    config = load_config(path, KINDS)
    assert config.settings.database == tmp_path / "data" / "alerts.db"
    assert config.settings.fetch.total_timeout == 30.0
    assert config.settings.fetch.max_body_bytes == 8 * 1024 * 1024
    assert "ops@clinic.example" in config.settings.fetch.user_agent
    assert config.settings.fetch.user_agent.startswith("InkWatch/")
    assert config.email.smtp_port == 2525
    assert config.email.mbox_path == tmp_path / "inkwatch.mbox"
    local = config.sources["local"]
    assert local.url == "http://127.0.0.1:8080/rss.xml"
    assert local.interval == timedelta(seconds=90)
    assert local.options["include"] == ["tattoo", "ink"]


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[settings]\ncontact = "a@b.c"\ninterval 6h\n')
    err = error_of(path)
    assert str(err).startswith(f"{path}:3:")
    assert "TOML syntax error" in str(err)


def test_unknown_key_lists_allowed_keys_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.news]\nkind = "feed"\nintervall = "6h"\n')
    err = str(error_of(path))
    assert err.startswith(f"{path}:3: unknown key 'intervall' in [sources.news]")
    assert "allowed keys: country, enabled, include, interval, kind, url" in err


def test_unknown_settings_key(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, "[settings]\ndatabse = 'x.db'\n")))
    assert "unknown key 'databse' in [settings]" in err
    assert "database" in err.split("allowed keys:")[1]


def test_unknown_kind_lists_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.x]\nkind = "rss"\n')
    err = str(error_of(path))
    assert err == f"{path}:2: unknown kind 'rss' in [sources.x] — use one of: feed, other"


def test_missing_kind(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, "[sources.x]\nurl = 'https://a.b/'\n")))
    assert "[sources.x] has no kind" in err and "feed, other" in err


def test_wrong_type_named_by_key_path(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, '[sources.news]\nkind = "feed"\nenabled = "yes"\n')))
    assert "sources.news.enabled must be true or false, not a string ('yes')" in err
    err = str(error_of(write(tmp_path, "[settings]\nretries = 'three'\n")))
    assert "settings.retries must be a whole number" in err
    err = str(error_of(write(tmp_path, '[sources.news]\nkind = "feed"\ninclude = "tattoo"\n')))
    assert "sources.news.include must be a list of strings" in err


def test_bad_interval_and_url(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, '[sources.n]\nkind = "feed"\ninterval = "often"\n')))
    assert "sources.n.interval" in err and '"6h"' in err
    err = str(error_of(write(tmp_path, '[sources.n]\nkind = "feed"\nurl = "file:///etc/passwd"\n')))
    assert "is not an http(s) URL" in err


def test_bad_smtp_security_and_password_in_file(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, '[email]\nsmtp_security = "ssl"\n')))
    assert "none, starttls, tls" in err
    err = str(error_of(write(tmp_path, '[email]\nsmtp_password = "hunter2"\n')))
    assert "INKWATCH_SMTP_PASSWORD" in err


def test_password_comes_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKWATCH_SMTP_PASSWORD", "s3cret")
    assert load_config(write(tmp_path, ""), KINDS).email.smtp_password == "s3cret"


def test_unknown_table(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, "[sorces.x]\nkind='feed'\n")))
    assert "unknown table [sorces]" in err


def test_missing_file(tmp_path: Path) -> None:
    err = str(error_of(tmp_path / "nope.toml"))
    assert err.endswith("file not found — run `inkwatch init` to create one, or pass --config PATH")


def test_not_utf8(tmp_path: Path) -> None:
    err = str(error_of(write(tmp_path, b'[settings]\ncontact = "caf\xe9"\n')))
    assert "not UTF-8 text" in err and "save the file as UTF-8" in err


def test_shipped_sources_toml_is_valid_and_matches_the_template() -> None:
    repo = Path(__file__).resolve().parent.parent
    shipped = repo / "sources.toml"
    config = load_config(shipped, sources.REGISTRY)
    assert config.sources, "sources.toml ships with sources"
    assert all(s.url.startswith("https://") for s in config.sources.values())
    template = repo / "monitor" / "data" / "sources.toml"
    assert shipped.read_text() == template.read_text(), "keep sources.toml and its template equal"


def test_the_daemon_schedule_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[email]\nsend_interval = "30s"\ndigest_time = "18:30"\ndigest_day = "Friday"\n'
        'timezone = "Europe/Berlin"\n',
    )
    email = load_config(path, KINDS).email
    assert email.send_interval == timedelta(seconds=30)
    assert (email.digest.at.hour, email.digest.at.minute, email.digest.weekday) == (18, 30, 4)
    assert str(email.digest.zone()) == "Europe/Berlin"
    defaults = load_config(write(tmp_path, ""), KINDS).email
    assert (defaults.send_interval, defaults.digest.at.hour) == (timedelta(minutes=1), 7)


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ('digest_time = "7pm"', "sources.toml:3: email.digest_time is '7pm', not a time of day"),
        ('digest_day = "mon"', "email.digest_day is 'mon' — use one of: monday, tuesday"),
        ('timezone = "Mars/Olympus"', "email.timezone 'Mars/Olympus' is not a known time zone"),
        ('send_interval = "soon"', "email.send_interval: 'soon' is not a duration"),
    ],
)
def test_bad_daemon_schedule_keys_name_the_line(tmp_path: Path, line: str, wanted: str) -> None:
    message = str(error_of(write(tmp_path, f'[email]\nfrom = "a@b.example"\n{line}\n')))
    assert wanted in message
    assert "sources.toml:3" in message


@pytest.mark.parametrize(
    ("mode", "now", "due"),
    [
        ("daily", "2026-11-24T05:59:00+00:00", "2026-11-24T06:00:00+00:00"),  # 07:00 CET today
        ("daily", "2026-11-24T06:00:00+00:00", "2026-11-25T06:00:00+00:00"),  # just missed
        ("weekly", "2026-11-24T06:00:00+00:00", "2026-11-30T06:00:00+00:00"),  # next Monday
        ("weekly", "2026-11-30T05:00:00+00:00", "2026-11-30T06:00:00+00:00"),  # this Monday
        ("daily", "2026-03-28T12:00:00+00:00", "2026-03-29T05:00:00+00:00"),  # summer time
    ],
)
def test_digest_times_are_local_wall_clock(mode: str, now: str, due: str) -> None:
    schedule = DigestSchedule(time(7, 0), 0, "Europe/Berlin")
    assert schedule.due(mode, datetime.fromisoformat(now)).isoformat() == due


@pytest.mark.parametrize(
    ("name", "content", "wanted"),
    [
        ("sources.toml", '[settings]\ncontact = "a@b.c"\nretries = -1\n', ":3: settings.retries"),
        ("sources.toml", "[settings]\ntotal_timeout = 0\n", ":2: settings.total_timeout"),
        ("sources.toml", '[sources.news]\nkind = "feed"\n', ":1: [sources.news] has no url"),
        ("sources.toml", b'[settings]\ncontact = "caf\xe9"\n', ":2: not UTF-8 text"),
        ("watchlist.toml", b"# caf\xe9\n", ":1: not UTF-8 text"),
    ],
)
def test_the_command_exits_2_naming_the_file(tmp_path: Path, name, content, wanted) -> None:
    """Through the CLI, as a person meets it: one line, exit code 2, no traceback."""
    write(tmp_path, '[sources.eu]\nkind = "eu_safety_gate"\nurl = "http://127.0.0.1:9/x"\n')
    write(tmp_path, '[[lot]]\nbrand = "X"\nproduct = "Y"\nlot = "1"\n', "watchlist.toml")
    path = write(tmp_path, content, name)
    config = tmp_path / "sources.toml"
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--once"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {path}{wanted}")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ('from = "not an address"', "email.from: 'not an address' is not a valid email address"),
        ('from = "InkWatch <alerts@clinic.invalid>"', "email.from: 'alerts@clinic.invalid'"),
        ('admin = "ops@@clinic.example"', "email.admin: 'ops@@clinic.example' is not a valid"),
    ],
)
def test_email_addresses_are_checked_at_load(tmp_path: Path, line: str, wanted: str) -> None:
    path = write(tmp_path, f"[email]\n{line}\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:2: {wanted}") and err.exit_code == 2
    assert str(err).count("write it like") == 1


def test_local_and_named_senders_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[email]\nfrom = "InkWatch <inkwatch@localhost>"\nadmin = "root@localhost"\n'
    )
    assert load_config(path, KINDS).email.admin == "root@localhost"


def test_a_bad_duration_says_how_to_write_it_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.x]\nkind = "other"\ninterval = "6 hours"\n')
    message = str(error_of(path))
    assert message.count("write it like") == 1 and "'6 hours' is not a duration" in message
