"""Adobe's documented requests and answers (tests/data/adobe_documented_examples.json, each
with its page and commit), read once for both replays: the emulator's
(tests/emulator/test_documented_examples.py) and the client's (tests/unit/api/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "adobe_documented_examples.json"
EXAMPLES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["examples"]
