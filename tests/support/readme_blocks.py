"""The fenced code blocks of README.md, and the curl commands of each shell block.

Used by tests/test_readme.py. A block is skipped only when the line before its fence (blank
lines aside) is ``<!-- readme-test: skip (reason) -->``; the reason is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\s*$")
_SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
_STATUS_COMMENT = re.compile(r"^#\s*(?P<status>[1-5]\d\d)\b")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: its language, text, first line number and skip reason (if any)."""

    language: str
    text: str
    line: int
    skip_reason: str | None

    @property
    def runs_curl(self) -> bool:
        return (
            self.language in ("sh", "bash", "shell")
            and re.search(r"\bcurl\b", self.text) is not None
        )


@dataclass(frozen=True, slots=True)
class CurlCommand:
    """A curl command of a block, and the status its trailing comment expects (``# 404 ...``)."""

    text: str
    expected_status: int | None


def blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(match.group(1), text, index + 2, _skip_reason(lines, index)))
        index = end + 1
    return found


def _skip_reason(lines: list[str], fence: int) -> str | None:
    previous = fence - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    match = _SKIP.match(lines[previous].strip()) if previous >= 0 else None
    return match.group("reason").strip() if match else None


def commands(script: str) -> list[tuple[str, str]]:
    """The shell commands of ``script`` as (command, trailing comment).

    A small scanner: quotes may span lines, a backslash-newline continues a command, ``;`` and
    a newline outside quotes end one, ``#`` at the start of a word starts a comment.
    """
    found: list[tuple[str, str]] = []
    current, comment, quote, index = "", "", "", 0
    while index < len(script):
        char = script[index]
        if quote:
            current += char
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote, current = char, current + char
        elif char == "\\" and script[index + 1 : index + 2] == "\n":
            index += 1
        elif char == "#" and (not current or current[-1] in " \t"):
            end = script.find("\n", index)
            comment = script[index:end]
            index = end - 1
        elif char in ";\n":
            if current.strip():
                found.append((current.strip(), comment.strip()))
            current, comment = "", ""
        else:
            current += char
        index += 1
    if current.strip():
        found.append((current.strip(), comment.strip()))
    return found


def curl_commands(script: str) -> list[CurlCommand]:
    """The commands of ``script`` that call curl, each with the status its comment expects."""
    result = []
    for command, comment in commands(script):
        if re.search(r"\bcurl\b", command):
            match = _STATUS_COMMENT.match(comment)
            result.append(CurlCommand(command, int(match.group("status")) if match else None))
    return result
