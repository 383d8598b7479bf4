# SPDX-License-Identifier: GPL-2.0
"""The panic-hooks harness; harness/ph is its one entry point."""
