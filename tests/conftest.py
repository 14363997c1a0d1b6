"""Shared fixtures: paths to the shipped records and to ../shared/data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MITDB = ROOT / "python" / "ecgfast" / "data" / "mitdb"
SHARED_DATA = Path(os.environ.get("ECGFAST_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shipped_mitdb() -> Path:
    return SHIPPED_MITDB


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
