"""`jobalerts check` and `jobalerts match`: exit codes, output, and bad lines on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobalerts_local.cli import main

JOBALERTS = Path(sys.executable).parent / "jobalerts"


def write_lines(path: Path, *lines: object) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


# --- check -------------------------------------------------------------------------------------


def test_check_prints_the_normalized_query_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # When a valid query is checked
    code = main(["check", "Python  AND (Remote OR berlin) -“Data Engineer”"])
    # Then it exits 0 and prints the canonical form
    assert code == 0
    assert capsys.readouterr().out == 'python (remote OR berlin) -"data engineer"\n'


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("python (remote", "column 8: unbalanced parenthesis: '(' is never closed"),
        ('"python', "column 1: unbalanced quote"),
        ("python OR", "column 8: dangling OR: nothing after it"),
        ("since:2024 go", "column 1: unknown operator 'since:' (supported: from:, lang:)"),
        ("-java -go", "column 1: query can match every post"),
        ("", "column 1: query is empty"),
        ("x" * 513, "column 513: query is longer than 512 characters"),
    ],
)
def test_check_prints_the_error_with_its_column_and_exits_2(
    capsys: pytest.CaptureFixture[str], query: str, error: str
) -> None:
    code = main(["check", query])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    first, echoed, caret = captured.err.splitlines()
    assert first.startswith(f"jobalerts check: {error}")
    # and points at the column under the query
    column = int(error.split()[1].rstrip(":"))
    assert echoed == f"  {query}"
    assert caret == "  " + " " * (column - 1) + "^"


def test_a_single_word_starting_with_a_minus_goes_after_a_double_dash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As with grep, `--` ends the options, so `-java` reads as the query, not a flag
    assert main(["check", "--", "-java"]) == 2
    assert "column 1: query can match every post" in capsys.readouterr().err


def test_the_installed_command_checks_a_query() -> None:
    # Given the console script installed in the virtualenv
    ok = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(JOBALERTS), "check", "C++ OR C#"], capture_output=True, text=True, check=False
    )
    bad = subprocess.run(  # noqa: S603
        [str(JOBALERTS), "check", "c++ )"], capture_output=True, text=True, check=False
    )
    assert (ok.returncode, ok.stdout) == (0, "c++ OR c#\n")
    assert bad.returncode == 2
    assert "column 5: unbalanced parenthesis" in bad.stderr


# --- match -------------------------------------------------------------------------------------


def test_match_prints_one_json_line_per_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given saved searches and posts as JSON lines
    searches = write_lines(
        tmp_path / "searches.jsonl",
        {"id": "py-remote", "query": "python remote"},
        {"id": "cpp", "query": "c++ -senior"},
        {"id": 7, "query": "from:acme_jobs lang:de"},
    )
    posts = write_lines(
        tmp_path / "posts.jsonl",
        {"id": "p1", "text": "Remote #Python role", "author": "someone", "lang": "en"},
        {"id": "p2", "text": "C++ developer (junior), remote python too"},
        {"id": "p3", "text": "Senior C++", "author": "Acme_Jobs", "lang": "de-AT"},
        {"id": "p4", "text": "nothing to see"},
    )
    # When they are matched
    code = main(["match", "--searches", str(searches), "--posts", str(posts)])
    # Then every match is one line, in post order, ids as given
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert [json.loads(line) for line in captured.out.splitlines()] == [
        {"search_id": "py-remote", "post_id": "p1"},
        {"search_id": "cpp", "post_id": "p2"},
        {"search_id": "py-remote", "post_id": "p2"},
        {"search_id": 7, "post_id": "p3"},
    ]


def test_match_lines_are_byte_for_byte_what_json_dumps_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given ids that JSON has to escape or leave unquoted: non-ASCII, quotes, integers
    search_ids: list[str | int] = ["zürich-ops", 'say "hi"', 42, "back\\slash", "日本"]
    searches = write_lines(
        tmp_path / "s.jsonl", *({"id": sid, "query": "python"} for sid in search_ids)
    )
    post_ids: list[str | int] = [9_007_199_254_740_993, "póst/1", "p\u2028"]
    posts = write_lines(
        tmp_path / "p.jsonl", *({"id": pid, "text": "Python jobs"} for pid in post_ids)
    )
    # When they are matched
    code = main(["match", "--searches", str(searches), "--posts", str(posts)])
    # Then each line is exactly json.dumps of the pair, search ids sorted as strings per post
    assert code == 0
    in_order = sorted(search_ids, key=str)
    assert capsys.readouterr().out == "".join(
        json.dumps({"search_id": sid, "post_id": pid}) + "\n"
        for pid in post_ids
        for sid in in_order
    )


def test_match_reports_bad_lines_with_their_numbers_and_skips_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given files with good lines, blank lines and bad lines
    searches = write_lines(
        tmp_path / "s.jsonl",
        {"id": "ok", "query": "python"},
        {"id": "broken", "query": "(python"},
        "{not json",
        "",
        {"id": "ok", "query": "golang"},
        {"query": "rust"},
        {"id": "q", "query": 42},
        ["a", "list"],
        {"id": "also-ok", "query": "golang"},
    )
    posts = write_lines(
        tmp_path / "p.jsonl",
        {"id": "p1", "text": "python and golang"},
        {"id": "p2"},
        {"id": "p3", "text": "golang", "lang": 5},
        "",
        "nope",
        {"id": "p6", "text": "Python", "author": None, "lang": None},
    )
    # When they are matched
    code = main(["match", "--searches", str(searches), "--posts", str(posts)])
    captured = capsys.readouterr()
    # Then the good lines are matched
    assert [json.loads(line) for line in captured.out.splitlines()] == [
        {"search_id": "also-ok", "post_id": "p1"},
        {"search_id": "ok", "post_id": "p1"},
        {"search_id": "ok", "post_id": "p6"},
    ]
    # and each bad one is named by file and line number on stderr, and the exit code says so
    assert code == 1
    assert captured.err.splitlines() == [
        f"{searches}:2: skipped: query: column 1: unbalanced parenthesis: '(' is never closed",
        f"{searches}:3: skipped: not JSON: Expecting property name enclosed in double quotes",
        f"{searches}:5: skipped: duplicate search id 'ok'",
        f"{searches}:6: skipped: id must be a string or an integer",
        f"{searches}:7: skipped: query must be a string",
        f"{searches}:8: skipped: expected a JSON object",
        f"{posts}:2: skipped: text must be a string",
        f"{posts}:3: skipped: lang must be a string when given",
        f"{posts}:5: skipped: not JSON: Expecting value",
    ]


def test_match_with_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = write_lines(tmp_path / "p.jsonl", {"id": "p1", "text": "python"})
    code = main(["match", "--searches", str(tmp_path / "missing.jsonl"), "--posts", str(posts)])
    assert code == 2
    assert "missing.jsonl: No such file or directory" in capsys.readouterr().err


def test_match_needs_both_files() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["match", "--searches", "s.jsonl"])
    assert exited.value.code == 2
