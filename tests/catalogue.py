"""The error catalogue of docs/ARCHITECTURE.md, read from the code: every ``code=`` given to an
error of ``provenance.errors`` (and each class's default), with its HTTP status and CLI exit
code from the two mappings (``api.errors.status_of``, ``provenance.cli.common.exit_code_of``), and
the problem codes the HTTP edge makes itself. ``scripts/error_catalogue.py`` writes the table;
``tests/unit/test_architecture_doc.py`` fails when the document and the code differ."""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path

from api.errors import status_of
from provenance import errors
from provenance.cli.common import exit_code_of

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
START, END = "<!-- error-catalogue:start -->", "<!-- error-catalogue:end -->"
EDGE = [  # problem details the HTTP edge makes without a ProvenanceError
    ("request.invalid", 422, "the request does not match the API (path, query or body types)"),
    ("request.too-large", 413, "a Content-Length over the upload limit, refused before reading"),
    ("http.<status>", 0, "Starlette's own refusals (404 unknown route, 405 method)"),
    ("internal", 500, "an unexpected error; the request was not applied (the trace goes to the log)"),
]
CLASSES = {
    name: cls
    for name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ProvenanceError)
}


@dataclass(frozen=True)
class Entry:
    code: str
    cls: str
    status: int
    exit: int
    meaning: str
    where: str


def _message(node: ast.Call) -> str:
    if not node.args:
        return ""
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in first.values)
    return ""


def _instance(cls: type[errors.ProvenanceError], code: str) -> errors.ProvenanceError:
    # Only the class decides the mappings; RootMismatchError's constructor takes other fields.
    obj = cls.__new__(cls)
    obj.code = code
    return obj


def _literal_code(keyword: ast.keyword) -> bool:
    return keyword.arg == "code" and isinstance(keyword.value, ast.Constant)


def raise_sites() -> list[Entry]:
    found: dict[str, Entry] = {}
    for path in sorted([*(ROOT / "provenance").rglob("*.py"), *(ROOT / "api").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CLASSES
            ):
                continue
            cls = CLASSES[node.func.id]
            code = next(
                (
                    k.value.value
                    for k in node.keywords
                    if k.arg == "code" and isinstance(k.value, ast.Constant)
                ),
                cls.code,
            )
            if code in found:
                continue
            obj = _instance(cls, code)
            where = f"{path.relative_to(ROOT)}"
            found[code] = Entry(code, cls.__name__, status_of(obj), exit_code_of(obj), _message(node), where)
    for cls in CLASSES.values():  # class defaults raised without an explicit code
        if cls.code not in found:
            obj = _instance(cls, cls.code)
            doc = (cls.__doc__ or "").strip().splitlines()[0]
            found[cls.code] = Entry(cls.code, cls.__name__, status_of(obj), exit_code_of(obj), doc, "")
    return sorted(found.values(), key=lambda e: e.code)


def table() -> str:
    rows = [
        "| code | class | HTTP | exit | meaning (message at the first raise site) |",
        "|---|---|---|---|---|",
    ]
    for e in raise_sites():
        meaning = e.meaning.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{e.code}` | {e.cls} | {e.status} | {e.exit} | {meaning} |")
    rows += ["", "Made by the HTTP edge itself (`api/errors.py`, `api/middleware.py`):", ""]
    rows += ["| code | HTTP | meaning |", "|---|---|---|"]
    rows += [f"| `{c}` | {s or 'as Starlette says'} | {m} |" for c, s, m in EDGE]
    return "\n".join(rows)


def render(doc: str) -> str:
    """``doc`` with the catalogue between its markers replaced by the one the code gives."""
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"
