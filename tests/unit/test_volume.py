"""Counting a day's matches and digests (`jobalerts volume`): ingest's runs, the soonest window
per post, one digest per window, near-duplicates filed, the daily text cap. Pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobalerts.models import Post
from jobalerts_local.simulate import SearchSpec, SubscriberSpec
from jobalerts_local.volume import count, ingest_run_after

# A Wednesday, 09:02 UTC.
T = datetime(2026, 11, 4, 9, 2, tzinfo=UTC)


def post(pid: str, text: str, at: datetime = T) -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle="acme",
        text=text,
        url=f"https://x.com/acme/status/{pid}",
        created_at=at,
    )


def person(line: int, *searches: tuple[str, str, str], phone: bool = False) -> SubscriberSpec:
    return SubscriberSpec(
        line,
        f"p{line}@example.com",
        "+14155550100" if phone else None,
        "UTC",
        tuple(SearchSpec(q, c, f) for q, c, f in searches),
    )


def test_a_post_is_matched_at_the_next_five_minute_ingest_run() -> None:
    assert ingest_run_after(T) == T.replace(minute=5)
    assert ingest_run_after(T.replace(minute=5)) == T.replace(minute=5)
    assert ingest_run_after(T.replace(minute=5, second=1)) == T.replace(minute=10)


def test_a_post_two_searches_match_is_one_match_due_in_the_sooner_window() -> None:
    # Given an instant and a daily search that both match one post
    ana = person(1, ("python", "email", "instant"), ("python remote", "email", "daily"))
    # When the day is counted
    volume = count([ana], [post("1", "Python developer, fully remote, apply at our site")])
    # Then it is one instant match in one instant digest
    assert dict(volume.matches) == {"instant": 1}
    assert dict(volume.digests) == {"email instant": 1}


def test_windows_that_coincide_count_under_the_more_frequent_search() -> None:
    # Given twenty people with a weekly and a daily search matching one Sunday post: both
    # windows are Monday morning, and the matcher returns hits in set order
    people = [
        person(line, ("python", "email", "weekly"), ("python", "email", "daily"))
        for line in range(1, 21)
    ]
    sunday = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    # When the day is counted
    volume = count(people, [post("1", "Python developer wanted, apply today", sunday)])
    # Then every match and digest is the daily one's
    assert dict(volume.matches) == {"daily": 20}
    assert dict(volume.digests) == {"email daily": 20}


def test_instant_matches_of_one_ingest_run_share_a_digest_and_the_next_run_gets_its_own() -> None:
    ana = person(1, ("python", "email", "instant"))
    posts = [
        post("1", "Python developer wanted in Berlin for our platform team"),
        post(
            "2",
            "Python engineer needed in Lisbon, data pipelines and more",
            T + timedelta(minutes=1),
        ),
        post(
            "3", "Senior Python role in Madrid, backend services, apply", T + timedelta(minutes=4)
        ),
    ]
    volume = count([ana], posts)
    assert dict(volume.matches) == {"instant": 3}
    assert dict(volume.digests) == {"email instant": 2}
    assert sorted(volume.posts_per_digest) == [1, 2]


def test_a_near_duplicate_is_filed_by_ingest_and_matches_nothing() -> None:
    ana = person(1, ("python", "email", "daily"))
    text = "Python developer wanted in Berlin for our platform team, apply today"
    volume = count([ana], [post("1", text), post("2", text, T + timedelta(hours=1))])
    assert (volume.stored, sum(volume.matches.values())) == (1, 1)


def five_runs_of_python_posts() -> list[Post]:
    """A post an instant python search matches in each of five ingest runs, from 09:02 UTC."""
    return [
        post(
            str(n),
            f"Python developer number {n} wanted, remote team",
            T + timedelta(minutes=10 * n),
        )
        for n in range(5)
    ]


def test_texts_stop_at_the_daily_cap() -> None:
    # Given an instant text search matching a post in each of five ingest runs
    ana = person(1, ("python", "sms", "instant"), phone=True)
    volume = count([ana], five_runs_of_python_posts())
    # Then three texts go out, and the two windows over the cap roll into one daily email
    assert dict(volume.digests) == {"sms instant": 3, "email daily": 1}
    assert volume.capped_texts == 2
    assert volume.posts_per_digest == [1, 1, 1, 2]


def test_texts_over_the_cap_without_an_email_wait_for_the_next_days_first_text() -> None:
    # Given the same texts for a subscriber who has no email address
    ben = SubscriberSpec(2, None, "+14155550101", "UTC", (SearchSpec("python", "sms", "instant"),))
    volume = count([ben], five_runs_of_python_posts())
    # Then the two over the cap go out together as the next morning's text
    assert dict(volume.digests) == {"sms instant": 4}
    assert volume.posts_per_digest == [1, 1, 1, 2]


def test_a_text_in_quiet_hours_goes_out_with_the_mornings() -> None:
    # Given an instant text search, a post at 22:00 and one at 07:30 (quiet 21:00-08:00 local)
    ana = person(1, ("python", "sms", "instant"), phone=True)
    night = T.replace(hour=22, minute=0)
    posts = [
        post("1", "Python developer wanted, remote team", night),
        post("2", "Senior Python engineer wanted, Berlin", night + timedelta(hours=9, minutes=30)),
    ]
    volume = count([ana], posts)
    # Then both go out in one text when the quiet hours end
    assert dict(volume.digests) == {"sms instant": 1}
    assert volume.posts_per_digest == [2]
    assert volume.deferred_texts == 2
