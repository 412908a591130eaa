"""Every error detail follows ``lang=`` and ``Accept-Language`` (issue 12, build 4).

Details are raised in English all over gis/, auth/, layers/ and api/; api/problems.py
answers them in Vietnamese through the templates of api/messages.py. Two kinds of test:

- the source is walked with ``ast``: every message literal or f-string that reaches a
  problem detail (a ``GisError`` the problem table maps, the problem helpers, and every
  function that passes its argument on to one of these) must have a template, f-string
  holes standing for any value; so a new message without its Vietnamese fails here;
- real requests against the served demo city, in each language.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import messages
from api.app import create_app
from api.problems import TABLE
from tests.api.principals import bearer, settings

ROOT = Path(__file__).resolve().parents[2]
# walked as directories: modules move between them (gis/filters.py -> gis/cql2/, ...)
PACKAGES = ("gis", "auth", "layers", "api")
HOLE = "\x00"  # stands for any value of an f-string hole in a rendered message

# functions whose details are other libraries' text, passed on as it is
FOREIGN_DETAILS = {
    "on_validation_error": "pydantic's messages (dothi's routes declare no typed "
    "parameter, so FastAPI never refuses one)",
}


# --- the walk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    where: str  # path:line
    params: tuple[str, ...]  # without self / cls of a method


@dataclass(frozen=True)
class Message:
    text: str  # HOLE where the f-string has an expression
    where: str
    phrase: bool  # put into a hole of another message, not a whole detail


def _trees() -> dict[str, ast.Module]:
    trees: dict[str, ast.Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            trees[rel] = ast.parse(path.read_text(encoding="utf-8"), rel)
    return trees


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _shown_errors(trees: dict[str, ast.Module]) -> set[str]:
    """Names of the error classes a problem answer shows: subclasses of a class of
    the problem table (ImportRejectedError, EmbeddedClusterError never reach HTTP)."""
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                    for b in node.bases
                ]
    tabled = {row[0].__name__ for row in TABLE}

    def shown(name: str, depth: int = 0) -> bool:
        return name in tabled or (
            depth < 20 and any(shown(b, depth + 1) for b in bases.get(name, []))
        )

    return {name for name in bases if shown(name)}


def _functions(
    trees: dict[str, ast.Module],
) -> tuple[dict[str, list[Function]], list[tuple[ast.Call, Function | None]]]:
    """Every function by name, and every call with its innermost function."""
    by_name: dict[str, list[Function]] = {}
    calls: list[tuple[ast.Call, Function | None]] = []

    def visit(
        node: ast.AST, where: str, owner: Function | None, in_class: bool
    ) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in (*child.args.posonlyargs, *child.args.args)]
                if in_class and names and names[0] in ("self", "cls"):
                    names = names[1:]
                names += [a.arg for a in child.args.kwonlyargs]
                fn = Function(child, f"{where}:{child.lineno}", tuple(names))
                by_name.setdefault(child.name, []).append(fn)
                visit(child, where, fn, False)
            elif isinstance(child, ast.ClassDef):
                visit(child, where, owner, True)
            else:
                if isinstance(child, ast.Call):
                    calls.append((child, owner))
                visit(child, where, owner, False)

    for rel, tree in trees.items():
        visit(tree, rel, None, False)
    return by_name, calls


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if len(call.args) > position and not any(
        isinstance(a, ast.Starred) for a in call.args[: position + 1]
    ):
        return call.args[position]
    return None


def _assigned(fn: Function | None, name: str) -> list[ast.expr]:
    """The values ``name`` is given in ``fn`` (assignments, and the loop over a list
    of tuples literal: ``for kind, reason in reasons``)."""
    if fn is None:
        return []
    values: list[ast.expr] = []
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values.append(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name) and node.target.id == name:
                values.append(node.value)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
            # status, detail = self._refusal or (400, "...")
            names = [
                t.id if isinstance(t, ast.Name) else "" for t in node.targets[0].elts
            ]
            if name in names:
                i = names.index(name)
                options = (
                    node.value.values
                    if isinstance(node.value, ast.BoolOp)
                    else [node.value]
                )
                values += [
                    o.elts[i]
                    for o in options
                    if isinstance(o, ast.Tuple) and len(o.elts) > i
                ]
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple):
            names = [t.id if isinstance(t, ast.Name) else "" for t in node.target.elts]
            if name in names and isinstance(node.iter, ast.Name):
                i = names.index(name)
                for listed in _assigned(fn, node.iter.id):
                    if isinstance(listed, ast.List | ast.Tuple):
                        values += [
                            e.elts[i]
                            for e in listed.elts
                            if isinstance(e, ast.Tuple) and len(e.elts) > i
                        ]
    return values


class _Walk:
    """Messages reaching a detail, and the helpers that pass one on (to a fixpoint)."""

    def __init__(self, trees: dict[str, ast.Module]) -> None:
        self.by_name, self.calls = _functions(trees)
        # callee name -> {(position, keyword, phrase)} of the arguments that make a
        # detail: the whole of it, or (phrase) a part put into an f-string's hole
        self.helpers: dict[str, set[tuple[int, str, bool]]] = {
            name: {(0, "detail", False)} for name in _shown_errors(trees)
        }
        self.helpers["problem"] = {(4, "detail", False)}
        self.helpers["status_problem"] = {(1, "detail", False)}
        self.helpers["problem_response"] = {(1, "detail", False)}
        # api/server.py's parser callbacks keep the detail for problem_response
        self.helpers["_stop"] = {(1, "detail", False)}

    def run(self) -> list[Message]:
        while True:
            known = sum(len(v) for v in self.helpers.values())
            found = list(self._messages())
            if sum(len(v) for v in self.helpers.values()) == known:
                return found

    def _messages(self) -> Iterator[Message]:
        for call, owner in self.calls:
            name = _callee(call)
            if name not in self.helpers or (
                owner is not None and owner.node.name in FOREIGN_DETAILS
            ):
                continue
            for position, keyword, phrase in sorted(self.helpers[name]):
                arg = _argument(call, position, keyword)
                if arg is None:
                    continue
                where = f"{owner.where if owner else '?'} (line {call.lineno})"
                for text in self._texts(arg, owner, 0, phrase):
                    yield Message(text, where, phrase)

    def _passes_on(self, owner: Function | None, param: str, phrase: bool) -> None:
        """``owner`` hands its parameter ``param`` to a detail: a helper too."""
        if owner is not None and param in owner.params:
            position = owner.params.index(param)
            slot = (position, param, phrase)
            self.helpers.setdefault(owner.node.name, set()).add(slot)

    def _texts(
        self, node: ast.expr, owner: Function | None, depth: int, phrase: bool
    ) -> list[str]:
        """The messages ``node`` can be (HOLE for any value); [] for a detail passed
        on as it is (a parameter, an exception's own detail, a ``_t`` pair)."""
        if depth > 8:
            return [HOLE]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            pieces: list[list[str]] = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    pieces.append([str(value.value)])
                else:
                    assert isinstance(value, ast.FormattedValue)
                    if isinstance(value.value, ast.Name):
                        self._passes_on(owner, value.value.id, True)
                    pieces.append([HOLE])
            return ["".join(p) for p in itertools.product(*pieces)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._texts(node.left, owner, depth + 1, phrase) or [HOLE]
            right = self._texts(node.right, owner, depth + 1, phrase) or [HOLE]
            return [a + b for a in left for b in right]
        if isinstance(node, ast.IfExp):
            return self._texts(node.body, owner, depth + 1, phrase) + self._texts(
                node.orelse, owner, depth + 1, phrase
            )
        if isinstance(node, ast.BoolOp):
            return [
                t for v in node.values for t in self._texts(v, owner, depth + 1, phrase)
            ]
        if isinstance(node, ast.Name):
            if owner is not None and node.id in owner.params:
                self._passes_on(owner, node.id, phrase)
                return []
            values = _assigned(owner, node.id)
            if not values:
                return [HOLE]  # unresolved: fails below, naming the place
            return [t for v in values for t in self._texts(v, owner, depth + 1, phrase)]
        if isinstance(node, ast.Attribute) and node.attr == "detail":
            return []  # an error's own detail, checked where it is raised
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name == "_t":
                return []  # an (English, Vietnamese) pair: already both languages
            if name in self.helpers:
                return []
            texts: list[str] = []
            for fn in self.by_name.get(name or "", []):
                for ret in ast.walk(fn.node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        texts += self._texts(ret.value, fn, depth + 1, phrase)
            return texts or [HOLE]
        return [HOLE]


@pytest.fixture(scope="module")
def walked() -> list[Message]:
    return _Walk(_trees()).run()


def test_the_walk_finds_the_messages(walked: list[Message]) -> None:
    """The walk sees through helpers: a sanity check that it finds a sample of
    messages raised directly, through a helper, and through a helper's helper."""
    texts = {m.text for m in walked}
    assert f"limit: expected an integer, got {HOLE}" in texts  # GisError subclass
    assert "empty filter" in texts  # through gis' _invalid(message)
    assert "send one Idempotency-Key" in texts  # through _bad(detail)
    assert "token has expired" in texts  # the value of a function's loop
    assert f"the request body is larger than {HOLE} bytes" in texts  # status_problem
    assert len(texts) > 200


def test_a_new_message_without_vietnamese_is_found() -> None:
    """The check bites: a message raised through a helper, with no template."""
    source = (
        "def refuse(message):\n"
        "    return InvalidParameterError(f'filter: {message}')\n"
        "def lower(x):\n"
        "    raise refuse(f'a brand new refusal of {x}')\n"
    )
    trees = {**_trees(), "gis/new.py": ast.parse(source)}
    found = [m for m in _Walk(trees).run() if m.where.startswith("gis/new.py")]
    assert {(m.text, m.phrase) for m in found} == {
        (f"filter: {HOLE}", False),  # a whole detail: "filter: {~message}"
        (f"a brand new refusal of {HOLE}", True),  # the phrase in its hole
    }
    assert messages.template_of(f"filter: {HOLE}", HOLE) == "filter: {~message}"
    new = f"a brand new refusal of {HOLE}"
    assert messages.template_of(new, HOLE, phrase=True) is None


def _checked(message: Message) -> bool:
    """A phrase is checked when it is words: one of identifiers, codes and symbols
    (``cql2-text``, ``=``, ``CRS84``) is a value, kept as it is in every language."""
    if not message.phrase:
        return True
    return " " in message.text and bool(message.text.strip(HOLE))


def test_every_message_has_a_vietnamese_template(walked: list[Message]) -> None:
    missing = sorted(
        {f"{m.where}: {m.text.replace(HOLE, '{…}')!r}" for m in walked
         if _checked(m)
         and messages.template_of(m.text, HOLE, phrase=m.phrase) is None}
    )  # fmt: skip
    assert not missing, "no template in api/messages.py for:\n" + "\n".join(missing)


# --- the catalogue on its own ------------------------------------------------------------


def test_english_is_answered_as_raised() -> None:
    detail = "limit: expected an integer, got 'abc'"
    assert messages.localise(detail, "en") == detail
    assert (
        messages.localise(detail, "vi") == "limit: cần một số nguyên, nhận được 'abc'"
    )


def test_phrases_inside_a_message_are_translated_and_values_kept() -> None:
    detail = (
        "filter: cannot compare 'sheet_no' (an integer) with text literal 'abc'; "
        "quote text values ('22945') and leave numbers bare (basic-cql2)"
    )
    assert messages.localise(detail, "vi") == (
        "filter: không so sánh được 'sheet_no' (số nguyên) với văn bản 'abc'; hãy đặt "
        "giá trị văn bản trong dấu nháy ('22945') và viết số không có dấu nháy "
        "(basic-cql2)"
    )
    # a filter's own words in parentheses are not taken for its conformance class
    assert messages.localise("filter: nested too deeply (at most 20 levels)", "vi") == (
        "filter: lồng quá sâu (tối đa 20 cấp)"
    )


def test_a_detail_without_a_template_stays_english() -> None:
    for detail in ("something new", "filter: something new", "x (y)"):
        assert messages.localise(detail, "vi") == detail


def test_every_vietnamese_differs_from_its_english() -> None:
    same = [en for en, vi in messages.MESSAGES.items() if en == vi and "~" not in en]
    assert not same


def test_matching_takes_linear_time_whatever_the_detail_holds() -> None:
    """Details quote request values: a detail built to make a matcher backtrack
    (many separators, no ending) is answered at once."""
    import time

    hostile = "no feature " + ": expected (" * 100_000 + "; x"  # 1.2 MB
    started = time.perf_counter()
    assert messages.localise(hostile, "vi") == hostile
    assert time.perf_counter() - started < 1.0


# --- real requests ------------------------------------------------------------------------

WARD = "22945"
OFFICER = bearer("land_officer", wards=(WARD,), sub="lan")
SQUARE = [[[108.10, 10.93], [108.1003, 10.93], [108.1003, 10.9303],
           [108.10, 10.9303], [108.10, 10.93]]]  # fmt: skip
BAD_PARCEL = {
    "type": "Feature",
    "geometry": {"type": "Polygon", "coordinates": SQUARE},
    "properties": {
        "ward_code": WARD,
        "sheet_no": "7",
        "parcel_no": 1,
        "land_use": "ODT",
    },
}


@pytest.fixture(scope="module")
def editor(city_url: str) -> Iterator[TestClient]:
    """The demo city with signed-in writers (a refused write changes nothing)."""
    with TestClient(create_app(settings(), database_url=city_url)) as c:
        yield c


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    english: str
    vietnamese: str
    whole: bool = True  # else: the detail starts so (a list of names follows)


CASES = {
    "bad limit": Case(
        "GET", "/collections/trees/items?limit=abc", 400,
        "limit: expected an integer, got 'abc'",
        "limit: cần một số nguyên, nhận được 'abc'",
    ),
    "bad filter": Case(
        "GET", "/collections/land_parcels/items?filter=sheet_no%20%3D%20'abc'", 400,
        "filter: cannot compare 'sheet_no' (an integer) with text literal 'abc'; "
        "quote text values ('22945') and leave numbers bare (basic-cql2)",
        "filter: không so sánh được 'sheet_no' (số nguyên) với văn bản 'abc'; hãy "
        "đặt giá trị văn bản trong dấu nháy ('22945') và viết số không có dấu nháy "
        "(basic-cql2)",
    ),
    "unknown collection": Case(
        "GET", "/collections/nosuch", 404,
        "no collection 'nosuch'", "không có lớp dữ liệu 'nosuch'",
    ),
    "unknown parameter": Case(
        "GET", "/collections/trees/items?owner=x", 400,
        "unknown parameter(s): owner; allowed: ",
        "tham số không được hỗ trợ: owner; các tham số được phép: ",
        whole=False,
    ),
    "write error": Case(
        "POST", "/collections/land_parcels/items", 400,
        'sheet_no: expected an integer, got "7"',
        'sheet_no: cần số nguyên, nhận được "7"',
    ),
}  # fmt: skip
WAYS = {  # how the caller asks: (lang=, headers), and the language it gets
    "lang=en": ("en", {}, "en"),
    "Accept-Language: en": (None, {"Accept-Language": "en-GB,en;q=0.9"}, "en"),
    "lang=vi": ("vi", {}, "vi"),
    "lang=vi over Accept-Language: en": ("vi", {"Accept-Language": "en"}, "vi"),
    "no language": (None, {}, "vi"),
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("case", list(CASES))
def test_details_follow_the_callers_language(
    client: TestClient, editor: TestClient, case: str, way: str
) -> None:
    c = CASES[case]
    lang, headers, answered = WAYS[way]
    path = c.path
    if lang is not None:
        path += ("&" if "?" in path else "?") + f"lang={lang}"
    if c.method == "POST":
        r = editor.post(
            path,
            json=BAD_PARCEL,
            headers={**OFFICER, **headers, "Content-Type": "application/geo+json"},
        )
    else:
        r = client.get(path, headers=headers)
    assert r.status_code == c.status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    expected = c.english if answered == "en" else c.vietnamese
    if c.whole:
        assert detail == expected
    else:
        assert detail.startswith(expected), detail
        # the variable part (here the allowed parameters) is the same in both
        english = client.get(c.path + "&lang=en").json()["detail"]
        assert detail[len(expected) :] == english[len(c.english) :]
