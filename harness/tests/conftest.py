# SPDX-License-Identifier: GPL-2.0
"""pytest setup: phlib importable from harness/, and build output of the
code under test kept in a temporary directory."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
