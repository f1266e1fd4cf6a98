"""The Python examples of README.md, README.zh-CN.md and docs/**/python.md run, and print
what the page shows. A block takes part when the marker above it is
`<!-- docs: checked-by python/tests/test_docs.py "PAGE" -->`; each `print(...)  # SHOWN` line's
output must match SHOWN (numbers within one unit of their last shown decimal, `...` matches
anything: scripts/check-docs.py's rules). Hub ids in the examples resolve through an offline
Hugging Face cache that holds the real models of scripts/fetch-models.sh under their ids."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import MODELS, ROOT

_spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check-docs.py")
check_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_docs)

PAGES = [ROOT / p for p in ("README.md", "README.zh-CN.md", "docs/python.md", "docs/zh-CN/python.md")]
MARK = "checked-by python/tests/test_docs.py"
SHOWN = re.compile(r"^\s*print\(.*\)\s+#\s?(.*)$")
# What the examples name by hub id: the folders scripts/fetch-models.sh fetches.
HUB_IDS = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}


def examples():
    for page in PAGES:
        for block in check_docs.blocks_of(page):
            if block.lang == "python" and any(m.startswith(MARK) for m in block.markers):
                yield block


EXAMPLES = list(examples())


def test_every_page_has_examples():
    pages = {b.path for b in EXAMPLES}
    assert pages == set(PAGES), sorted(str(p) for p in set(PAGES) - pages)


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("hf")
    for repo_id, folder in HUB_IDS.items():
        repo = home / "hub" / ("models--" + repo_id.replace("/", "--"))
        commit = "0" * 40
        (repo / "snapshots").mkdir(parents=True)
        (repo / "snapshots" / commit).symlink_to(MODELS / folder, target_is_directory=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
    return home


@pytest.mark.parametrize("block", EXAMPLES, ids=[b.where() for b in EXAMPLES])
def test_example_prints_what_the_page_shows(block, hub_home):
    code = "\n".join(block.lines)
    shown = [m.group(1) for m in map(SHOWN.match, block.lines) if m]
    env = dict(os.environ, HF_HOME=str(hub_home), HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
    env.pop("HF_HUB_CACHE", None)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    problem = check_docs.compare(shown, run.stdout.splitlines(), loose=False, ignore=None)
    assert problem is None, f"{block.where()}: {problem}"
