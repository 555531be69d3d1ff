"""The retrieval defaults the command line shows in its help: constants only, so importing them (which every
CLI start-up does) loads neither numpy nor pydantic."""

from __future__ import annotations

from pathlib import Path

#: Where `autoformal index build` writes and `autoformal index search` reads by default.
DEFAULT_INDEX_DIR = Path("retrieval_index") / "mathlib"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
