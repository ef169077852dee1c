"""Shared by the model tests: helper modules of this folder (``balanced_schedule``) are
importable from its subfolders too."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
