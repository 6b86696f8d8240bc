"""Ingest's near-duplicates: the keys of jobalerts.identity, on the real tables."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from jobalerts.ingest import Ingest
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.support import stores
from tests.support.digests import make_post

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CAREERS = "https://acme.example/careers"


def test_two_jobs_of_one_account_linking_its_careers_page_are_both_stored(
    stack: LocalStack,
) -> None:
    # Given a company's jobs account posting two different jobs, both linking its careers page
    with httpx.Client() as client:
        ingest = Ingest(get_settings(), stores.posts(), stores.state(), stores.sources(), client)
        first = make_post("1", "Senior Python engineer, Berlin", at=T0, links=[CAREERS])
        second = make_post("2", "Staff nurse, Leeds General", at=T0, links=[CAREERS + "/"])
        # When both are ingested
        outcomes = [ingest.store_post(first, T0), ingest.store_post(second, T0)]
    # Then both are stored (and so matched), neither is a near-duplicate
    assert outcomes == ["stored", "stored"]
    assert stores.posts().get("x#2") is not None


def test_a_repost_of_one_job_link_is_noted_as_also_posted_by(stack: LocalStack) -> None:
    link = "https://acme.example/jobs/4711"
    with httpx.Client() as client:
        ingest = Ingest(get_settings(), stores.posts(), stores.state(), stores.sources(), client)
        assert ingest.store_post(make_post("1", "hiring", at=T0, links=[link]), T0) == "stored"
        repost = make_post("2", "look", author="jane", at=T0, links=[link + "?utm_source=x"])
        assert ingest.store_post(repost, T0) == "near_duplicate"
    original = stores.posts().get("x#1")
    assert original is not None
    assert original.also_posted_by == ["jane"]
