"""The README and docs/ as a newcomer uses them: the shell blocks parse, every
`trade-analysis` command and option they name exists, every relative link and
anchor resolves, the test command is the one CI runs, the list of what makes
tests skip names every package CI installs, and the tour's upload and live
client work against a real server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.conftest import TEST_KEY
from tests.server import ServerProcess
from trade_analysis.cli import app

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def blocks(page: Path, *languages: str) -> list[str]:
    return [body for language, body in FENCE.findall(page.read_text()) if language in languages]


def commands_in(page: Path) -> Iterator[str]:
    """Every command line of the page's shell blocks, continuations joined."""
    for block in blocks(page, "bash", "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                yield line.strip()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"^#{1,6} ", line)}


def test_the_shell_blocks_parse() -> None:
    for page in PAGES:
        for block in blocks(page, "bash", "sh"):
            parsed = subprocess.run(["bash", "-n"], input=block, text=True, capture_output=True)
            assert parsed.returncode == 0, f"{page.name}: {parsed.stderr}\n{block}"


def test_the_test_command_is_the_one_ci_runs() -> None:
    quick_start = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    serve, test = (block.strip() for _language, block in FENCE.findall(quick_start))
    assert serve.endswith(".venv/bin/trade-analysis serve")
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def cli_commands() -> dict[str, Any]:
    """`trade-analysis` commands by their words (`serve`, `db upgrade`), as typer builds them."""
    group: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        found[name] = command
        for sub, subcommand in getattr(command, "commands", {}).items():
            found[f"{name} {sub}"] = subcommand
    return found


def test_the_commands_named_are_in_the_help() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "trade_analysis", "--help"], capture_output=True, text=True
    ).stdout
    commands = cli_commands()
    named = 0
    for page in PAGES:
        for block in blocks(page, "bash", "sh", "text"):
            for line in block.splitlines():
                words = line.split("#", 1)[0].split()
                if "trade-analysis" not in [w.rsplit("/", 1)[-1] for w in words]:
                    continue
                at = [w.rsplit("/", 1)[-1] for w in words].index("trade-analysis")
                rest = words[at + 1 :]
                if not rest:
                    continue
                name = " ".join(rest[:2]) if " ".join(rest[:2]) in commands else rest[0]
                assert name in commands, f"{page.name}: no command {name!r}: {line}"
                assert name.split()[0] in help_text
                options = {o for p in commands[name].params for o in [*p.opts, *p.secondary_opts]}
                for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", " ".join(rest)):
                    assert option in options, f"{page.name}: {name} has no {option}: {line}"
                named += 1
    assert named >= 10


def test_relative_links_and_anchors_resolve() -> None:
    for page in PAGES:
        for target in LINK.findall(FENCE.sub("", page.read_text())):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target} does not exist"
            if anchor:
                assert anchor in anchors(linked), f"{page.name}: no #{anchor} in {linked.name}"


def test_the_skip_list_names_every_package_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    # Every `apt-get install ... >/dev/null` command, its continued lines included.
    commands = re.findall(r"apt-get install (.*?)>/dev/null", ci.replace("\\\n", " "))
    packages = [word for command in commands for word in command.split() if word[0] != "-"]
    assert "openbox" in packages and "wine" in packages
    skips = README.read_text().split("Tests that need", 1)[1].split("\n## ", 1)[0]
    for package in packages:
        assert f"`{package}`" in skips, f"the README's skip list does not name {package}"


def test_the_examples_and_the_sample_chart_are_where_the_tour_says() -> None:
    for line in commands_in(README):
        for word in shlex.split(line):
            if word.startswith(("examples/", "docs/samples/")):
                assert (ROOT / word).is_file(), line


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}
    ).start()
    yield process
    process.stop()


def tour_command(script: str) -> list[str]:
    [line] = [line for line in commands_in(README) if f"examples/{script}" in line]
    words = shlex.split(line)
    assert words[0] == ".venv/bin/python"
    return [sys.executable, *words[1:]]


def test_the_tour_uploads_the_sample_and_the_client_sees_its_trade(server: ServerProcess) -> None:
    env = {**os.environ, "BACKEND_API_KEY": TEST_KEY}
    live_url = ["--url", server.url.replace("http://", "ws://")]
    with subprocess.Popen(
        [*tour_command("live.py"), *live_url], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as client:
        assert client.stdout is not None
        assert client.stdout.readline().startswith("hello ")
        upload = subprocess.run(
            [*tour_command("upload.py"), "--url", server.url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert upload.returncode == 0, upload.stderr
        assert '"direction": "buy"' in upload.stdout and '"trend": "up"' in upload.stdout
        rest = client.communicate(timeout=30)[0].splitlines()
    assert [line.split()[0] for line in rest] == ["trade", "summary"]
    assert '"ticker": "AAPL"' in rest[0]
