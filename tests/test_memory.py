"""The allocator setting that returns large freed arrays to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from auditor.memory import return_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_large_freed_arrays_go_back_to_the_system() -> None:
    # In a fresh process: free a 64 MB array (which raises glibc's dynamic mmap threshold), then
    # allocate and free 30 MB arrays; their memory must leave the process each time.
    code = """
import sys
from auditor.memory import return_freed_memory
if sys.argv[1] == "on":
    assert return_freed_memory()
import numpy as np
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
big = np.ones(8 << 20); del big
before = rss()
kept = []
for i in range(8):
    a = np.ones((30 << 20) // 8); kept.append(np.ones(1000)); del a
print((rss() - before) >> 20)
"""
    grown = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", code, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("on", "off")
    }
    # Without the setting the same loop keeps 30 MB: the test tells the two apart.
    assert grown["on"] < 5 <= 20 <= grown["off"], grown


def test_is_a_no_op_that_says_so_where_it_cannot_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert return_freed_memory() is False
