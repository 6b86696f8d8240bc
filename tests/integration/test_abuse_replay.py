"""The short `make abuse`: the issue-10 attacks over real HTTP against the served API."""

from __future__ import annotations

from jobalerts_local.abuse import run_abuse, table


def test_the_replayed_attacks_get_nothing_through() -> None:
    # When every attack is replayed against the API served on localhost
    report = run_abuse(quick=True)
    print(table(report.tallies))

    # Then no request crashed, nothing reached an unconfirmed address, and refusals stored nothing
    for tally in report.tallies:
        assert tally.tried > 0, tally.attack
        assert tally.server_errors == 0, tally
        assert tally.unconfirmed_sends == 0, tally
        assert tally.stored_by_rejected == 0, tally
    # And the floods met the rate limits
    by_name = {t.attack: t for t in report.tallies}
    assert by_name["SMS pumping and toll fraud"].rate_limited > 0
    assert by_name["mailbox flooding by sub-address"].rate_limited > 0
    # And confirmed subscribers still got their digests: the check above is not vacuous
    assert report.digests > 0
