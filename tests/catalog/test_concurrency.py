"""Several processes and threads writing one home at once: nothing lost, nothing locked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolnav.catalog import Catalog

WRITER = r"""
import sys, threading
from toolnav.catalog import Catalog
from toolnav.tool import Tool

home, process = sys.argv[1], sys.argv[2]
catalog = Catalog.open(home)
errors = []

def work(thread):
    source = f"p{process}t{thread}"
    try:
        for round in range(15):
            tools = [Tool(name=f"{source}_tool{i}", description=f"tool {i} of {source}")
                     for i in range(round % 4 + 2)]
            catalog.add_tools(tools, source=source)
            catalog.remove([f"{source}_tool0"])
            catalog.record_outcome(f"{source}_tool1", round % 2 == 0)
        catalog.add_tools([Tool(name=f"{source}_final{i}") for i in range(3)], source=source)
    except Exception as error:  # reported to the test, which fails on any
        errors.append(f"{type(error).__name__}: {error}")

threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
catalog.close()
print("\n".join(errors))
sys.exit(1 if errors else 0)
"""


@pytest.mark.timeout(240)
def test_two_processes_with_four_threads_each_lose_nothing(tmp_path):
    home = tmp_path / "home"
    Catalog.open(home).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(p)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for p in range(2)]
    for writer in writers:
        out, err = writer.communicate(timeout=220)
        assert writer.returncode == 0, out + err
        assert "locked" not in out + err
    with Catalog.open(home) as catalog:
        names = {tool.name for tool in catalog.tools()}
        expected = {f"p{p}t{t}_final{i}" for p in range(2) for t in range(4) for i in range(3)}
        assert names == expected
        assert catalog.sources() == {f"p{p}t{t}": 3 for p in range(2) for t in range(4)}
        assert catalog.version > 0
