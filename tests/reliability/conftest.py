"""A data directory for each demo, outside pytest's own temporary tree.

Root runs the embedded server as a system user, which must be able to reach
the data directory; pytest makes its temporary root private (0700) again
whenever a pytest run starts, so a directory under it can become unreachable
in the middle of a test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="predhub-demo-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
