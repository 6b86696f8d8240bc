"""A seeded workload for `jobalerts simulate`: subscribers with searches, and a day of X posts.

Built to hit what loses or repeats jobs: reposts of one job by its company and by recruiters
(with other tracking parameters), retweet-like copies, and distinct jobs that share one link
(a company's careers page, a link hub).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Vocabulary:
    """What job posts are about, each word drawn uniformly or with its weight."""

    roles: tuple[tuple[str, str], ...]
    places: tuple[str, ...]
    companies: tuple[str, ...]
    # Zipf exponents of roles, places, companies; None draws uniformly.
    skew: tuple[float, float, float] | None = None

    def role(self, rng: random.Random) -> tuple[str, str]:
        return self._pick(rng, self.roles, 0)

    def place(self, rng: random.Random) -> str:
        return self._pick(rng, self.places, 1)

    def company(self, rng: random.Random) -> str:
        return self._pick(rng, self.companies, 2)

    def _pick(self, rng: random.Random, words: tuple[Any, ...], kind: int) -> Any:
        if self.skew is None:
            return rng.choice(words)
        # Zipf: the n-th most common word turns up 1/n^s as often as the first, as employers
        # and cities do in job ads (a few post most of the jobs).
        return rng.choices(words, cum_weights=_zipf(len(words), self.skew[kind]))[0]


def _zipf(count: int, exponent: float) -> list[float]:
    key = (count, exponent)
    if key not in _ZIPF:
        _ZIPF[key] = list(itertools.accumulate(n**-exponent for n in range(1, count + 1)))
    return _ZIPF[key]


_ZIPF: dict[tuple[int, float], list[float]] = {}

# The simulator's: a handful of each, so every narrow search still finds something in 2,000 posts.
SMALL = Vocabulary(tuple(ROLES), tuple(PLACES), tuple(COMPANIES))

_MORE_ROLES = [
    ("backend engineer", "backend"), ("fullstack developer", "fullstack"),
    ("ios developer", "ios"), ("android developer", "android"), ("ml engineer", "ml"),
    ("data scientist", "datascience"), ("data analyst", "analytics"), ("qa engineer", "qa"),
    ("site reliability engineer", "sre"), ("security engineer", "security"),
    ("cloud architect", "cloud"), ("product manager", "product"), ("project manager", "pm"),
    ("scrum master", "agile"), ("ux researcher", "ux"), ("technical writer", "writing"),
    ("support engineer", "support"), ("solutions engineer", "presales"),
    ("account executive", "saas"), ("marketing manager", "marketing"),
    ("content writer", "content"), ("recruiter", "recruiting"), ("hr generalist", "hr"),
    ("financial analyst", "finance"), ("bookkeeper", "bookkeeping"), ("paralegal", "legal"),
    ("nurse practitioner", "np"), ("medical assistant", "healthcare"),
    ("physical therapist", "physio"), ("dental hygienist", "dental"),
    ("warehouse associate", "logistics"), ("truck driver", "cdl"), ("barista", "coffee"),
    ("store manager", "retail"), ("chef", "culinary"), ("plumber", "plumbing"),
    ("carpenter", "construction"), ("mechanical engineer", "mechanical"),
    ("civil engineer", "civil"), ("lab technician", "biotech"), ("research scientist", "research"),
    ("teaching assistant", "education"), ("social worker", "socialwork"),
    ("customer success manager", "cs"), ("graphic designer", "graphics"),
]  # fmt: skip
_CITIES = [
    "remote", "london", "berlin", "new york", "paris", "toronto", "austin", "madrid", "tokyo",
    "dublin", "amsterdam", "seattle", "boston", "chicago", "denver", "atlanta", "dallas",
    "houston", "miami", "phoenix", "portland", "sydney", "melbourne", "singapore", "bangalore",
    "hyderabad", "pune", "delhi", "mumbai", "lisbon", "barcelona", "munich", "hamburg",
    "vienna", "zurich", "geneva", "stockholm", "oslo", "copenhagen", "helsinki", "warsaw",
    "krakow", "prague", "budapest", "bucharest", "athens", "milan", "rome", "brussels",
    "manchester", "edinburgh", "glasgow", "leeds", "bristol", "cardiff", "belfast", "cork",
    "vancouver", "montreal", "calgary", "ottawa", "seoul", "osaka", "taipei", "manila",
    "jakarta", "nairobi", "lagos", "cairo", "dubai", "riyadh", "istanbul", "tel aviv",
    "johannesburg", "cape town", "sao paulo", "mexico city", "bogota", "lima", "santiago",
    "buenos aires", "auckland", "wellington", "raleigh", "nashville", "pittsburgh",
    "minneapolis", "detroit", "columbus", "charlotte", "tampa", "orlando", "baltimore",
    "philadelphia", "san diego", "sacramento", "salt lake city", "las vegas", "kansas city",
    "st louis", "indianapolis", "cincinnati", "cleveland", "milwaukee", "omaha", "boise",
]  # fmt: skip
_SYLLABLES = ["vel", "tor", "ix", "ano", "qua", "bri", "zen", "lum", "kor", "dax", "mir", "sol",
              "tek", "nov", "pra", "fin"]  # fmt: skip


# Roles flatter than places and employers: no one trade has a fifth of all job ads, while
# "remote" and a few big employers do carry a large share.
MARKET_SKEW = (0.5, 1.0, 1.0)


def market() -> Vocabulary:
    """A job market's variety for `jobalerts load`: 60 roles, 106 places, 4,096 companies, all
    Zipf weighted. With `SMALL` a narrow search matched 1 post in ~2,000 and a subscriber with
    ten searches got ~600 alerts a day; here a search matches what it would among real ads."""
    companies = tuple("".join(parts) for parts in itertools.product(_SYLLABLES, repeat=3))
    return Vocabulary(tuple(ROLES + _MORE_ROLES), tuple(_CITIES), companies, skew=MARKET_SKEW)


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


def _posts(
    rng: random.Random, count: int, hours: float, words: Vocabulary = SMALL
) -> list[dict[str, Any]]:
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
        original = _job(rng, post_id, created, reqs, words)
        originals.append(original)
        posts.append(original)
    return posts


def _job(
    rng: random.Random, post_id: int, created: datetime, reqs: set[int], words: Vocabulary
) -> dict[str, Any]:
    role, tag = words.role(rng)
    company = words.company(rng)
    place = words.place(rng)
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
