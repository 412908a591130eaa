"""Optimistic locking of Part 4 writes (issue 14, item 4): a feature's strong ETag is
its row's version; ``If-Match`` makes PUT, PATCH and DELETE apply to that version only
(412 otherwise, nothing changed); without it a write that waited for another write of
the same property is refused (409) rather than overwriting a value it never saw.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from gis.db.urls import libpq_url
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database, served

CREW = bearer("tree_crew", sub="doi-cay-xanh")
TREES = "/collections/trees/items"
GEOJSON = {"Content-Type": "application/geo+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
FEATURE_TAG = re.compile(r'"[0-9]+-[0-9a-f]{16}"')


def tree(**props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [108.101, 10.931]},
        "properties": {"species_vi": "Sao đen", "health": "good", **props},
    }


@pytest.fixture(scope="module")
def db(server_url: str, migrated_template: str) -> Iterator[str]:
    url = create_database(server_url, "locking", template=migrated_template)
    yield url
    drop_database(server_url, "locking")


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=db)) as c:
        yield c


@pytest.fixture(scope="module")
def live(db: str) -> Iterator[str]:
    with served(settings(), db) as url:
        yield url


def _sql(url: str, query: str, *args: Any) -> Any:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else None


def _stored(db: str, fid: int) -> Any:
    """The row as PostgreSQL has it, version included."""
    return _sql(
        db,
        "SELECT xmin::text, species_vi, health, trunk_circumference_cm "
        "FROM tree WHERE id = %s",
        fid,
    )


def _create(c: TestClient, **props: Any) -> int:
    r = c.post(TREES, content=json.dumps(tree(**props)), headers={**CREW, **GEOJSON})
    assert r.status_code == 201, r.text
    return int(r.headers["Location"].rsplit("/", 1)[1])


def _etag(c: TestClient, fid: int, **headers: str) -> str:
    r = c.get(f"{TREES}/{fid}", headers={**CREW, **headers})
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def _patch(c: TestClient, fid: int, props: dict[str, Any], **headers: str) -> Any:
    body = json.dumps({"properties": props})
    return c.patch(f"{TREES}/{fid}", content=body, headers={**CREW, **MERGE, **headers})


def test_the_etag_is_strong_and_a_204_carries_the_next_one(client: TestClient) -> None:
    fid = _create(client)
    first = _etag(client, fid)
    assert FEATURE_TAG.fullmatch(first), first  # strong: no W/
    r = _patch(client, fid, {"health": "fair"}, **{"If-Match": first})
    assert r.status_code == 204, r.text
    assert r.headers["Cache-Control"] == "no-store"
    second = r.headers["ETag"]
    assert second != first
    assert _etag(client, fid) == second  # the GET answers the tag the 204 gave
    again = client.get(f"{TREES}/{fid}", headers={**CREW, "If-None-Match": second})
    assert again.status_code == 304
    r = client.put(
        f"{TREES}/{fid}",
        content=json.dumps(tree(health="poor")),
        headers={**CREW, **GEOJSON, "If-Match": second},
    )
    assert r.status_code == 204, r.text
    assert r.headers["ETag"] not in (first, second)
    assert _etag(client, fid) == r.headers["ETag"]
    # one version, two representations: two tags with the same version
    other = _etag(client, fid, **{"Accept-Language": "en"})
    assert other != r.headers["ETag"]
    assert other.split("-")[0] == r.headers["ETag"].split("-")[0]
    r = _patch(client, fid, {"health": "good"}, **{"If-Match": other})
    assert r.status_code == 204, r.text  # If-Match is about the version


def test_a_change_of_another_feature_keeps_the_tag(client: TestClient) -> None:
    """A feature's tag is its own version, not the layer's."""
    fid, other = _create(client), _create(client)
    before = _etag(client, fid)
    assert _patch(client, other, {"health": "fair"}).status_code == 204
    assert _etag(client, fid) == before
    assert (
        _patch(client, fid, {"health": "fair"}, **{"If-Match": before}).status_code
        == 204
    )


# If-Match values that name no current version ({old}: a tag of an older version,
# {current}: the current tag, {bare}: the current tag without its quotes)
STALE_TAGS = {
    "stale": "{old}",
    "stale among others": '{old}, "1-0123456789abcdef"',
    "weak current": "W/{current}",
    "bogus": '"bogus"',
    "unquoted current": "{bare}",
    "garbage": "*, x",
    "beyond 32 bits": '"99999999999-0123456789abcdef"',
}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("kind", list(STALE_TAGS))
def test_a_stale_or_bogus_if_match_is_412_and_changes_nothing(
    client: TestClient, db: str, method: str, kind: str
) -> None:
    fid = _create(client)
    old = _etag(client, fid)
    assert _patch(client, fid, {"health": "fair"}).status_code == 204  # no If-Match
    current = _etag(client, fid)
    stored = _stored(db, fid)
    tag = STALE_TAGS[kind].format(old=old, current=current, bare=current.strip('"'))
    headers = {**CREW, "If-Match": tag, "Accept-Language": "en"}
    if method == "PUT":
        body = json.dumps(tree(health="dead"))
        r = client.put(f"{TREES}/{fid}", content=body, headers={**headers, **GEOJSON})
    elif method == "PATCH":
        body = json.dumps({"properties": {"health": "dead"}})
        r = client.patch(f"{TREES}/{fid}", content=body, headers={**headers, **MERGE})
    else:
        r = client.delete(f"{TREES}/{fid}", headers=headers)
    assert r.status_code == 412, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["code"], problem["title"]) == (
        "NoApplicableCode",
        "Precondition failed",
    )
    assert "If-Match" in problem["detail"]
    assert _stored(db, fid) == stored  # nothing changed; a DELETE kept the feature
    assert _etag(client, fid) == current


def test_the_412_speaks_vietnamese_by_default(client: TestClient) -> None:
    fid = _create(client)
    old = _etag(client, fid)
    assert _patch(client, fid, {"health": "fair"}).status_code == 204
    r = _patch(client, fid, {"health": "dead"}, **{"If-Match": old})
    assert r.status_code == 412
    problem = r.json()
    assert problem["title"] == "Điều kiện của yêu cầu không còn đúng"
    assert "đã bị thay đổi sau phiên bản" in problem["detail"]
    r = _patch(client, fid, {"health": "dead"}, **{"If-Match": '"bogus"'})
    assert "không phải ETag của một đối tượng" in r.json()["detail"]


def test_if_match_star_asks_only_that_the_feature_exists(
    client: TestClient, db: str
) -> None:
    fid = _create(client)
    assert _patch(client, fid, {"health": "fair"}).status_code == 204
    r = _patch(client, fid, {"health": "dead"}, **{"If-Match": "*"})
    assert r.status_code == 204, r.text
    assert _stored(db, fid)[0][2] == "dead"
    assert (
        client.delete(f"{TREES}/{fid}", headers={**CREW, "If-Match": "*"}).status_code
        == 204
    )
    # no feature: the 404 the write gets anyway comes first (RFC 9110, 13.2.1)
    for tag in ("*", '"1-0123456789abcdef"', "bogus"):
        assert (
            _patch(client, fid, {"health": "dead"}, **{"If-Match": tag}).status_code
            == 404
        )
        r = client.delete(f"{TREES}/{fid}", headers={**CREW, "If-Match": tag})
        assert r.status_code == 404


def test_an_edit_through_psql_changes_the_etag(client: TestClient, db: str) -> None:
    fid = _create(client)
    before = _etag(client, fid)
    _sql(db, "UPDATE tree SET health = 'poor' WHERE id = %s", fid)
    after = _etag(client, fid)
    assert after != before
    r = _patch(client, fid, {"health": "dead"}, **{"If-Match": before})
    assert r.status_code == 412
    assert _stored(db, fid)[0][2] == "poor"  # the psql edit stays
    r = _patch(client, fid, {"health": "dead"}, **{"If-Match": after})
    assert r.status_code == 204
    r = client.delete(f"{TREES}/{fid}", headers={**CREW, "If-Match": after})
    assert r.status_code == 412  # the PATCH made a new version: the feature stays
    assert _stored(db, fid) != []


def test_ten_writers_fifty_edits_each_with_if_match_lose_none(
    client: TestClient, live: str, db: str
) -> None:
    """Each writer reads the counter and its ETag, then writes counter + 1 with
    If-Match: every edit is applied or refused (412), and the counter ends at the
    number applied: none is lost."""
    fid = _create(client, trunk_circumference_cm=0)
    url = f"{TREES}/{fid}"

    async def writer(c: httpx.AsyncClient) -> list[int]:
        statuses = []
        for _ in range(50):
            read = await c.get(url, headers=CREW)
            assert read.status_code == 200, read.text
            count = read.json()["properties"]["trunk_circumference_cm"]
            body = json.dumps({"properties": {"trunk_circumference_cm": count + 1}})
            headers = {**CREW, **MERGE, "If-Match": read.headers["ETag"]}
            statuses.append(
                (await c.patch(url, content=body, headers=headers)).status_code
            )
        return statuses

    async def run() -> list[int]:
        clients = [httpx.AsyncClient(base_url=live, timeout=60) for _ in range(10)]
        try:
            results = await asyncio.gather(*(writer(c) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        return [s for r in results for s in r]

    statuses = asyncio.run(run())
    assert len(statuses) == 500
    assert set(statuses) <= {204, 412}, sorted(set(statuses))
    applied = statuses.count(204)
    assert applied >= 50  # at least one writer's turn each round
    assert _stored(db, fid)[0][3] == applied  # none lost
    edits = _sql(
        db,
        "SELECT count(*) FROM audit_log WHERE action = 'update' AND layer = 'trees' "
        "AND %s = ANY(feature_ids)",
        fid,
    )
    assert edits == [(applied,)]  # and no refused edit was half made


def _wait_for_lock(db: str) -> None:
    """Until a statement waits for a row lock (the API's write behind psql's)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        waiting = _sql(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE 'UPDATE%%tree%%'",
        )
        if waiting[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError("the API's write never waited for the lock")


def _behind_psql(
    live: str,
    db: str,
    fid: int,
    psql_set: tuple[str, str],
    body: dict[str, Any],
    *,
    method: str = "PATCH",
    **headers: str,
) -> httpx.Response:
    """A write sent while psql holds the row with an uncommitted UPDATE, which
    commits while the write waits for it."""
    answer: list[httpx.Response] = []
    kind = MERGE if method == "PATCH" else GEOJSON
    with psycopg.connect(libpq_url(db)) as holder:
        column, value = psql_set
        update = sql.SQL("UPDATE tree SET {} = %s WHERE id = %s")
        holder.execute(update.format(sql.Identifier(column)), (value, fid))
        thread = threading.Thread(
            target=lambda: answer.append(
                httpx.request(
                    method,
                    f"{live}{TREES}/{fid}",
                    content=json.dumps(body),
                    headers={**CREW, **kind, "Accept-Language": "en", **headers},
                    timeout=60,
                )
            )
        )
        thread.start()
        _wait_for_lock(db)
        holder.commit()
    thread.join(timeout=60)
    assert answer, "the write did not answer"
    return answer[0]


def test_without_if_match_a_crossed_change_of_the_same_property_is_refused(
    client: TestClient, live: str, db: str
) -> None:
    fid = _create(client, health="good", species_vi="Sao đen")
    r = _behind_psql(
        live, db, fid, ("health", "poor"), {"properties": {"health": "dead"}}
    )
    assert r.status_code == 409, r.text  # not written over a value it never saw
    assert "another write changed what this one sets" in r.json()["detail"]
    assert _stored(db, fid)[0][1:3] == ("Sao đen", "poor")
    # another property: both changes land
    r = _behind_psql(
        live, db, fid, ("health", "fair"), {"properties": {"species_vi": "Dầu"}}
    )
    assert r.status_code == 204, r.text
    assert _stored(db, fid)[0][1:3] == ("Dầu", "fair")
    # the same value: nothing would be lost, so it lands
    r = _behind_psql(
        live, db, fid, ("health", "dead"), {"properties": {"health": "dead"}}
    )
    assert r.status_code == 204, r.text
    # a PUT sets every property: a crossed change of any of them is refused...
    put = tree(health="good", species_vi="Dầu")
    r = _behind_psql(live, db, fid, ("health", "poor"), put, method="PUT")
    assert r.status_code == 409, r.text
    assert _stored(db, fid)[0][1:3] == ("Dầu", "poor")
    # ...and one that crossed nothing is applied
    r = client.put(
        f"{TREES}/{fid}", content=json.dumps(put), headers={**CREW, **GEOJSON}
    )
    assert r.status_code == 204, r.text
    assert _stored(db, fid)[0][1:3] == ("Dầu", "good")


def test_with_if_match_a_write_behind_another_is_412(
    client: TestClient, live: str, db: str
) -> None:
    """The condition is checked on the row the write finally locks, not on the one
    its statement first saw."""
    fid = _create(client)
    tag = _etag(client, fid)
    body = {"properties": {"health": "dead"}}
    r = _behind_psql(live, db, fid, ("species_vi", "Dầu"), body, **{"If-Match": tag})
    assert r.status_code == 412, r.text
    assert _stored(db, fid)[0][1:3] == ("Dầu", "good")


@pytest.mark.parametrize(
    ("sent", "versions"),
    [
        (None, None),
        ("*", "exists"),
        (" * ", "exists"),
        ('"7-0123456789abcdef"', {7}),
        ('"7-0123456789abcdef", "8-0123456789abcdef"', {7, 8}),
        ('W/"7-0123456789abcdef"', set()),  # weak: never matches strongly
        ('"7-0123456789abcdef", W/"8-0123456789abcdef"', {7}),
        ('"7"', set()),  # not a tag this server gives
        ('"4294967296-0123456789abcdef"', set()),  # beyond a transaction id
        ("7-0123456789abcdef", set()),  # unquoted
        ('"7-0123456789abcdef" "8-0123456789abcdef"', set()),  # no comma
        ('*, "7-0123456789abcdef"', set()),
        ('"a,b"', set()),  # a comma inside a tag is part of it
        ("", set()),
    ],
)
def test_if_match_is_read_as_rfc_9110_writes_it(
    sent: str | None, versions: str | set[int] | None
) -> None:
    from starlette.requests import Request

    from api.caching import if_match

    headers = [] if sent is None else [(b"if-match", sent.encode("latin-1"))]
    request = Request({"type": "http", "method": "PATCH", "headers": headers})
    got = if_match(request)
    assert got == (frozenset(versions) if isinstance(versions, set) else versions)
