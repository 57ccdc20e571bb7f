"""A ``curl`` for the README test: the request goes to the app inside the test process.

Installed on PATH as ``curl`` by tests/test_readme.py. It understands the options the README
uses (``-s -S -i -f -X -H -d/--data/--data-raw/--data-binary -o -w '%{http_code}'``) and,
like curl, sends ``-d`` data as ``application/x-www-form-urlencoded`` unless a Content-Type
is given. Any other option is an error (exit 2), so that an example using one fails the test
instead of being half run. Standard library only: it runs under any Python.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from urllib.parse import urlsplit

_FLAGS = {"-s", "--silent", "-S", "--show-error", "-sS", "-Ss", "-L", "--location"}
_DATA = {"-d", "--data", "--data-raw", "--data-binary"}


def _parse(argv: list[str]) -> dict[str, object]:
    request: dict[str, object] = {"method": None, "headers": [], "body": None, "url": None}
    include = fail = False
    output = write_out = None
    args = iter(argv)
    for arg in args:
        if arg in _FLAGS:
            continue
        if arg in ("-i", "--include"):
            include = True
        elif arg in ("-f", "--fail"):
            fail = True
        elif arg in ("-X", "--request"):
            request["method"] = next(args)
        elif arg in ("-H", "--header"):
            name, _, value = next(args).partition(":")
            request["headers"].append([name.strip(), value.strip()])  # type: ignore[attr-defined]
        elif arg in _DATA:
            data = next(args)
            if data.startswith("@") and arg != "--data-raw":
                with open(data[1:], encoding="utf-8") as file:
                    data = file.read()
            request["body"] = data
        elif arg in ("-o", "--output"):
            output = next(args)
        elif arg in ("-w", "--write-out"):
            write_out = next(args)
        elif arg.startswith("-"):
            sys.exit(f"curl (README test shim): option {arg} is not supported")
        else:
            request["url"] = arg
    return {"request": request, "include": include, "fail": fail, "output": output,
            "write_out": write_out}  # fmt: skip


def _path(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def main(argv: list[str]) -> int:
    parsed = _parse(argv)
    request = parsed["request"]
    assert isinstance(request, dict)
    if request["url"] is None:
        sys.exit("curl (README test shim): no URL")
    names = {name.lower() for name, _ in request["headers"]}
    if request["body"] is not None and "content-type" not in names:
        request["headers"].append(["Content-Type", "application/x-www-form-urlencoded"])
    request["method"] = request["method"] or ("POST" if request["body"] is not None else "GET")
    request["path"] = _path(str(request["url"]))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(os.environ["README_CURL_SOCKET"])
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("rb").readline())
    text = answer["body"]
    if parsed["include"]:
        head = [f"HTTP/1.1 {answer['status']}"] + [f"{k}: {v}" for k, v in answer["headers"]]
        text = "\r\n".join(head) + "\r\n\r\n" + text
    if parsed["output"]:
        with open(str(parsed["output"]), "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    if parsed["write_out"]:
        sys.stdout.write(str(parsed["write_out"]).replace("%{http_code}", str(answer["status"])))
    return 22 if parsed["fail"] and answer["status"] >= 400 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
