"""Composing a digest: one entry per post, near-duplicates collapsed, a cap per search, a subject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobalerts.digests.compose import compose, fingerprints, job_url, subject_line
from jobalerts.identity import job_identity
from jobalerts.models import Channel, PendingMatch, Post, SavedSearch, Subscriber

T0 = datetime(2027, 6, 1, 9, tzinfo=UTC)
SUB = Subscriber(subscriber_id="ana", timezone="Europe/Berlin", created_at=T0)


def search(sid: str, query: str, order: int) -> SavedSearch:
    return SavedSearch(
        subscriber_id="ana",
        search_id=sid,
        query=query,
        updated_at=T0.isoformat(),
        created_at=T0 + timedelta(minutes=order),
    )


def match(
    pid: str, text: str, *sids: str, author: str = "acme", links: list[str] | None = None
) -> PendingMatch:
    post = Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        text=text,
        url=f"https://x.com/{author}/status/{pid}",
        links=links or [],
        created_at=T0 + timedelta(minutes=int(pid)),
    )
    return PendingMatch(
        subscriber_id="ana",
        channel=Channel.EMAIL,
        post=post,
        search_ids=list(sids),
        due_at=T0,
        matched_at=T0 + timedelta(minutes=int(pid)),
    )


SEARCHES = [search("s1", "python remote", 0), search("s2", '"data engineer"', 1)]


def test_a_post_matched_by_two_searches_appears_once_under_the_first() -> None:
    result = compose(
        SUB,
        Channel.EMAIL,
        T0,
        [match("1", "python remote data engineer", "s2", "s1")],
        SEARCHES,
        max_per_search=5,
    )
    assert result.digest is not None
    [section] = result.digest.sections
    assert section.name == "python remote"
    assert section.items[0].also_matches == ('"data engineer"',)


def test_posts_sharing_a_job_link_collapse_with_also_posted_by() -> None:
    link = "https://jobs.acme.example/openings/4711"
    result = compose(
        SUB,
        Channel.EMAIL,
        T0,
        [
            match("1", "python remote at acme", "s1", links=[link + "?utm_source=x"]),
            match("2", "Acme: remote python role", "s1", author="recruiter", links=[link + "/"]),
        ],
        SEARCHES,
        max_per_search=5,
    )
    assert result.digest is not None
    assert result.digest.count == 1
    assert result.digest.sections[0].items[0].also_posted_by == ("recruiter",)
    assert set(result.digest.post_ids) == {"x#1", "x#2"}


def test_retweets_with_the_same_words_collapse() -> None:
    text = "Hiring a senior python engineer, remote across Europe"
    assert set(fingerprints(match("1", text).post)) == set(
        fingerprints(match("2", f"RT @acme: {text}").post)
    )


def test_careers_pages_and_social_links_do_not_identify_a_job() -> None:
    assert job_identity("https://acme.example/careers") is None
    assert job_identity("https://t.co/abc") is None
    assert (
        job_identity("https://www.acme.example/jobs/42?utm_medium=x&id=7#apply")
        == "acme.example/jobs/42?id=7"
    )


def test_something_already_sent_is_left_out_as_a_repeat() -> None:
    sent = fingerprints(match("1", "python remote role at acme, apply today").post)
    result = compose(
        SUB,
        Channel.EMAIL,
        T0,
        [match("2", "Python remote role at ACME — apply today!", "s1")],
        SEARCHES,
        max_per_search=5,
        sent_fingerprints=set(sent),
    )
    assert result.digest is None
    assert result.repeats == ["x#2"]


def test_posts_of_deleted_searches_are_orphans() -> None:
    result = compose(
        SUB, Channel.EMAIL, T0, [match("1", "golang", "gone")], SEARCHES, max_per_search=5
    )
    assert result.digest is None
    assert result.orphaned == ["x#1"]


def test_each_search_shows_at_most_n_newest_first_and_counts_the_rest() -> None:
    matches = [
        match(str(i), f"python remote opening {i} at company {i}", "s1", author=f"co{i}")
        for i in range(7)
    ]
    result = compose(SUB, Channel.EMAIL, T0, matches, SEARCHES, max_per_search=3)
    assert result.digest is not None
    [section] = result.digest.sections
    assert [i.post.id for i in section.shown] == ["x#6", "x#5", "x#4"]
    assert section.more == 4


def test_the_subject_says_what_is_inside_biggest_search_first() -> None:
    matches = [match("1", "data engineer in berlin", "s2")] + [
        match(str(i), f"python remote job {i} for company {i}", "s1") for i in range(2, 13)
    ]
    result = compose(SUB, Channel.EMAIL, T0, matches, SEARCHES, max_per_search=5)
    assert result.digest is not None
    assert result.digest.subject == '12 new jobs: python remote, "data engineer"'


def test_long_subjects_name_fewer_searches() -> None:
    names = ["a very long saved search about platform engineering"] * 3
    line = subject_line(40, names)
    assert len(line) <= 78
    assert line.endswith("+2 more") or line.endswith("more")
    assert subject_line(1, []) == "1 new job"


def test_the_same_inputs_make_the_same_digest_id() -> None:
    one = compose(
        SUB, Channel.EMAIL, T0, [match("1", "python remote", "s1")], SEARCHES, max_per_search=5
    )
    two = compose(
        SUB, Channel.EMAIL, T0, [match("1", "python remote", "s1")], SEARCHES, max_per_search=5
    )
    assert one.digest is not None
    assert two.digest is not None
    assert one.digest.digest_id == two.digest.digest_id


# ---------------------------------------------------------------- fair digests


def test_one_account_gets_at_most_three_posts_per_search_and_the_rest_are_counted() -> None:
    # Given seven new posts from @acme and two from other accounts, all for one search
    matches = [
        match(str(i), f"python remote opening number {i} at acme corp", "s1") for i in range(1, 8)
    ] + [
        match("8", "python remote backend role at shopco now", "s1", author="shopco"),
        match("9", "python remote data role at tinyco this week", "s1", author="tinyco"),
    ]

    # When the digest is composed with room for five posts per search
    result = compose(SUB, Channel.EMAIL, T0, matches, SEARCHES, max_per_search=5)

    # Then @acme's three newest are shown next to the others, and its four older posts are
    # counted apart (not in the search's own "+N more")
    assert result.digest is not None
    [section] = result.digest.sections
    assert [i.post.id for i in section.shown] == ["x#9", "x#8", "x#7", "x#6", "x#5"]
    assert section.more == 0
    [overflow] = section.overflow
    assert overflow.author == "acme"
    assert [i.post.id for i in overflow.items] == ["x#4", "x#3", "x#2", "x#1"]
    # And every post is accounted for, so none of them is sent again later
    assert sorted(result.digest.post_ids) == sorted(m.post.id for m in matches)
    assert result.digest.count == 9


def test_the_share_per_account_is_counted_per_search_and_ignores_handle_case() -> None:
    # Given four posts from one account (spelled two ways) in each of two searches
    one = [match(str(i), f"python remote role {i} at acme in town", "s1") for i in (1, 2)]
    one += [
        match(str(i), f"python remote role {i} at acme in town", "s1", author="ACME")
        for i in (3, 4)
    ]
    two = [match(str(i), f"data engineer role {i} at acme in town", "s2") for i in range(5, 9)]

    # When the digest is composed
    result = compose(SUB, Channel.EMAIL, T0, one + two, SEARCHES, max_per_search=5)

    # Then each search shows three of them and counts one more
    assert result.digest is not None
    for section in result.digest.sections:
        assert len(section.shown) == 3
        assert [len(o.items) for o in section.overflow] == [1]


def test_the_job_link_is_the_first_link_that_leaves_the_microblogs() -> None:
    def post(links: list[str], url: str = "https://x.com/acme/status/1") -> Post:
        return Post(
            id="x#1",
            source="x",
            author_handle="acme",
            text="t",
            url=url,
            links=links,
            created_at=T0,
        )

    assert job_url(post(["https://x.com/other/status/2", "https://acme.example/jobs/42"])) == (
        "https://acme.example/jobs/42"
    )
    assert job_url(post(["javascript:alert(1)", "ftp://acme.example/x"])) is None
    assert job_url(post([])) is None
    # A link to another post on the poster's own Mastodon instance is not a job ad
    toot = "https://hachyderm.io/@acme/111"
    assert job_url(post(["https://hachyderm.io/@bob/222"], url=toot)) is None
