"""The README's demo command runs the setup example end to end and cleans up after itself."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def test_demo_explains_a_successful_run_and_stops_the_emulator():
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=240, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "every task succeeded" in out
    assert re.search(r"Etag\s+1 after the create step, 2 after the patch", out), out
    offer_id = re.search(r"Fallback offer (\S+)", out).group(1)
    assert f"served its fallback offer\n               {offer_id} (etag 2)" in out, out
    assert "homepage-fallback-v2.png" in out
    assert "Emulator stopped" in out
    # The emulator's port no longer answers, and the temporary home is gone.
    host, port = re.search(r"listening on http://([\d.]+):(\d+)", out).groups()
    with socket.socket() as sock:
        assert sock.connect_ex((host, int(port))) != 0
    home = re.search(r"Temporary Airflow home (\S+)", out).group(1)
    assert not Path(home).exists()
