"""The official MCP conformance suite against `toolnav serve --http` (scripts/conformance.sh):
every server scenario passes except those tests/server/conformance/expected-failures.yml lists
as not applicable (docs/conformance.md gives the reason for each)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.sources.services import REPO_ROOT

pytestmark = pytest.mark.timeout(600)


def test_conformance_suite_passes_every_applicable_scenario(node_tools):
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "conformance.sh")],
                          capture_output=True, text=True, timeout=580,
                          env={**os.environ, "PYTHON": sys.executable}, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for scenario in ("server-initialize", "tools-list", "tools-call-simple-text",
                     "tools-call-error", "dns-rebinding-protection", "http-header-validation"):
        assert f"✓ {scenario}:" in done.stdout
    assert "Baseline check passed" in done.stdout
    leftovers = subprocess.run(["pgrep", "-f", "toolnav.*serve --http.*--expose all"],
                               capture_output=True, text=True).stdout.split()
    assert not leftovers, f"the script left its server running: {leftovers}"
