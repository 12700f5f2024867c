"""Shared test fixtures: where the real regulator samples are, and temporary files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def samples_dir() -> Path:
    """The real regulator payloads: $INKWATCH_SAMPLES, else ../shared/samples next to the repo."""
    env = os.environ.get("INKWATCH_SAMPLES")
    return Path(env) if env else REPO.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    path = samples_dir()
    if not path.is_dir():
        pytest.fail(
            f"real regulator samples not found at {path}: "
            "put ../shared beside the checkout or set INKWATCH_SAMPLES"
        )
    return path
