"""A seeded workload for `jobalerts simulate`: subscribers with searches, and a day of X posts.

Built to hit what loses or repeats jobs: reposts of one job by its company and by recruiters
(with other tracking parameters), retweet-like copies, and distinct jobs that share one link
(a company's careers page, a link hub).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

ROLES = [
    ("python developer", "python"),
    ("golang engineer", "golang"),
    ("rust engineer", "rust"),
    ("java developer", "java"),
    ("data engineer", "data"),
    ("frontend developer", "frontend"),
    ("devops engineer", "devops"),
    ("registered nurse", "nursing"),
    ("staff accountant", "accounting"),
    ("product designer", "design"),
    ("sales manager", "sales"),
    ("maths teacher", "teaching"),
    ("pharmacist", "pharmacy"),
    ("electrician", "trades"),
    ("line cook", "hospitality"),
]
PLACES = ["berlin", "london", "paris", "remote", "toronto", "austin", "madrid", "tokyo", "dublin"]
LEVELS = ["senior", "junior", "lead", "mid-level"]
COMPANIES = [
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
    "cyberdyne", "soylent", "vandelay", "oscorp", "gringotts", "monarch", "massive",
]  # fmt: skip
RECRUITERS = ["techhire_jo", "nursejobs_uk", "remote_roles", "jobfeed_eu", "hire_anna"]
TIMEZONES = [
    "UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
    "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "America/Toronto",
]  # fmt: skip
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
BASE_ID = 1_990_000_000_000_000_000


def generate(
    seed: int = 7, subscribers: int = 200, posts: int = 2000, hours: float = 4.0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    return _subscribers(rng, subscribers), _posts(rng, posts, hours)


def _query(rng: random.Random) -> str:
    role, tag = rng.choice(ROLES)
    place, other = rng.sample(PLACES, 2)
    company = rng.choice(COMPANIES)
    # Narrow on purpose: a few matches per search keeps a run's AWS calls within what moto
    # does in a few minutes, while every search still finds something over 2,000 posts.
    forms = [
        f"{role} {place} {company}",
        f'"{role}" ({place} OR {other}) {company}',
        f"{role} {place} -senior",
        f"#{tag} {company} {place}",
        f"{company} {role} -junior",
        f"#{tag} {place} -junior -lead",
    ]
    return rng.choice(forms)


def _subscribers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    people = []
    for n in range(count):
        has_phone = rng.random() < 0.3
        has_email = not has_phone or rng.random() < 0.7
        person: dict[str, Any] = {"timezone": rng.choice(TIMEZONES), "searches": []}
        if has_email:
            person["email"] = f"person{n}@example.com"
        if has_phone:
            person["phone"] = f"+1415555{n:04d}"
        for _ in range(rng.randint(4, 7)):
            channel = "sms" if has_phone and (not has_email or rng.random() < 0.4) else "email"
            person["searches"].append(
                {
                    "query": _query(rng),
                    "channel": channel,
                    "frequency": rng.choice(["instant", "hourly", "daily", "weekly"]),
                }
            )
        people.append(person)
    return people


def _posts(rng: random.Random, count: int, hours: float) -> list[dict[str, Any]]:
    offsets = sorted(rng.uniform(0, hours * 3600) for _ in range(count))
    posts: list[dict[str, Any]] = []
    originals: list[dict[str, Any]] = []
    reqs: set[int] = set()
    for number, offset in enumerate(offsets):
        created = START + timedelta(seconds=offset)
        post_id = BASE_ID + int(offset * 1000) * 100 + number % 100
        if originals and rng.random() < 0.15:
            posts.append(_repost(rng, rng.choice(originals[-50:]), post_id, created))
            continue
        original = _job(rng, post_id, created, reqs)
        originals.append(original)
        posts.append(original)
    return posts


def _job(rng: random.Random, post_id: int, created: datetime, reqs: set[int]) -> dict[str, Any]:
    role, tag = rng.choice(ROLES)
    company = rng.choice(COMPANIES)
    place = rng.choice(PLACES)
    level = rng.choice(LEVELS)
    # A `/jobs/<req>` page names one job, and the service rightly files two posts linking it
    # as one job: a req drawn twice (a birthday collision in a few thousand posts) made two
    # different jobs share a page, which the reference counted twice (a "lost" job at rate 0).
    req = rng.randint(1000, 99999)
    while req in reqs:
        req = rng.randint(1000, 99999)
    reqs.add(req)
    shape = rng.random()
    if shape < 0.6:
        link = f"https://{company}.example/jobs/{req}"
    elif shape < 0.9:
        link = f"https://{company}.example/careers"  # one link, every job at the company
    else:
        link = f"https://linktr.ee/{company}"
    text = (
        f"{company.title()} is hiring a {level} {role} in {place.title()} (req {req}). "
        f"#hiring #{tag} {link}"
    )
    return _post(post_id, f"{company}_jobs", text, [link], ["hiring", tag], created)


def _repost(
    rng: random.Random, original: dict[str, Any], post_id: int, created: datetime
) -> dict[str, Any]:
    kind = rng.random()
    link = original["links"][0]
    if kind < 0.15:
        # A retweet-like copy: X marks it and the source drops it; the original carries the job.
        author = rng.choice(RECRUITERS)
        text = f"RT @{original['author_handle']}: {original['text']}"
        return _post(post_id, author, text, [link], original["hashtags"], created)
    tracked = f"{link}?utm_source=x&utm_campaign=c{rng.randint(1, 99)}"
    text = original["text"].replace(link, tracked)
    author = original["author_handle"] if kind < 0.6 else rng.choice(RECRUITERS)
    return _post(post_id, author, text, [tracked], original["hashtags"], created)


def _post(
    post_id: int, author: str, text: str, links: list[str], tags: list[str], created: datetime
) -> dict[str, Any]:
    return {
        "id": f"x#{post_id}",
        "source": "x",
        "author_handle": author,
        "author_name": author.replace("_", " ").title(),
        "author_bot": False,
        "text": text,
        "url": f"https://x.com/{author}/status/{post_id}",
        "links": links,
        "hashtags": tags,
        "mentions": [],
        "lang": "en",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "also_posted_by": [],
    }
