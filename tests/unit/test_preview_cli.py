"""`jobalerts preview "QUERY"`: counts per day and the newest posts, over a file of posts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobalerts_local.cli import main

NOW = "2026-11-23T10:00:00+00:00"


def posts_file(tmp_path: Path) -> Path:
    rows = [
        {
            "id": "p1",
            "text": "Python dev, remote",
            "author": "acme",
            "created_at": "2026-11-23T09:00:00+00:00",
        },
        {
            "id": "p2",
            "text": "python data engineer",
            "author": "globex",
            "created_at": "2026-11-22T09:00:00+00:00",
        },
        {
            "id": "p3",
            "text": "Rust, remote",
            "author": "acme",
            "created_at": "2026-11-23T08:00:00+00:00",
        },
        {
            "id": "p4",
            "text": "python, long ago",
            "author": "acme",
            "created_at": "2026-11-01T08:00:00+00:00",
        },
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n", "utf-8")
    return path


def test_preview_prints_counts_per_day_and_the_newest_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a search is previewed over a file of posts, at a fixed time
    code = main(["preview", "python", "--posts", str(posts_file(tmp_path)), "--now", NOW, "--json"])
    # Then it exits 0 with the counts of the 7 days ending today and the newest first
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["days"][-2:] == [
        {"date": "2026-11-22", "matches": 1},
        {"date": "2026-11-23", "matches": 1},
    ]
    assert [post["id"] for post in answer["newest"]] == ["p1", "p2"]
    assert (answer["total"], answer["scanned"]) == (2, 3)


def test_preview_prints_a_readable_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", "remote", "--posts", str(posts_file(tmp_path)), "--now", NOW])

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("remote: 2 matches in the last 7 days")
    assert "  2026-11-23       2  " in out
    assert "@acme: Python dev, remote" in out


def test_a_malformed_query_exits_2_pointing_at_its_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", "python (remote", "--posts", str(posts_file(tmp_path))])

    err = capsys.readouterr().err
    assert code == 2
    assert "column 8" in err
    assert err.rstrip().endswith("^")
