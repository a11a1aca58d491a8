"""The authorization rule (referrals/authorization.py), from issue 5 item 3: visits used
against visits authorized and the expiry; warnings at 2 visits left and 7 days before
expiry; used up at none left; expired after valid_until; not yet valid before valid_from."""

import datetime

from hypothesis import given
from hypothesis import strategies as st

from effleura.referrals.authorization import authorization_status
from effleura.referrals.choices import AuthorizationState as S

FROM = datetime.date(2026, 1, 1)
UNTIL = datetime.date(2026, 3, 31)
MID = datetime.date(2026, 2, 1)


def status(authorized=12, used=0, today=MID, valid_from=FROM, valid_until=UNTIL):
    return authorization_status(authorized, used, valid_from, valid_until, today)


def test_fresh_referral_is_active_without_warnings():
    s = status(12, 0)
    assert (s.state, s.visits_left, s.warnings) == (S.ACTIVE, 12, [])
    assert s.days_left == (UNTIL - MID).days


def test_three_left_is_still_active_two_left_is_running_out():
    assert status(12, 9).state == S.ACTIVE
    s = status(12, 10)
    assert s.state == S.RUNNING_OUT and s.visits_left == 2
    assert s.warnings == ["2 visits left of 12"]
    assert status(12, 11).warnings == ["1 visit left of 12"]


def test_none_left_is_used_up_and_overuse_never_goes_negative():
    s = status(12, 12)
    assert s.state == S.USED_UP and s.visits_left == 0
    assert "all 12 visits used" in s.warnings[0]
    assert status(12, 15).visits_left == 0


def test_eight_days_before_expiry_is_active_seven_is_running_out_inclusive():
    assert status(today=UNTIL - datetime.timedelta(days=8)).state == S.ACTIVE
    s = status(today=datetime.date(2026, 3, 24))
    assert s.state == S.RUNNING_OUT and s.days_left == 7
    assert s.warnings == ["expires in 7 days (on 31 Mar 2026)"]
    assert status(today=datetime.date(2026, 3, 26)).warnings == ["expires in 5 days (on 31 Mar 2026)"]
    assert status(today=datetime.date(2026, 3, 30)).warnings == ["expires in 1 day (on 31 Mar 2026)"]
    last = status(today=UNTIL)
    assert last.state == S.RUNNING_OUT and last.warnings == ["expires today (on 31 Mar 2026)"]


def test_both_reasons_are_named():
    s = status(12, 10, today=datetime.date(2026, 3, 26))
    assert s.state == S.RUNNING_OUT
    assert s.warnings == ["2 visits left of 12", "expires in 5 days (on 31 Mar 2026)"]


def test_expired_the_day_after_valid_until():
    s = status(today=UNTIL + datetime.timedelta(days=1))
    assert s.state == S.EXPIRED and s.days_left == -1
    assert s.warnings == ["expired on 31 Mar 2026"]


def test_not_yet_valid_before_valid_from():
    s = status(today=FROM - datetime.timedelta(days=1))
    assert s.state == S.NOT_YET_VALID and s.warnings == ["not valid until 1 Jan 2026"]
    assert status(today=FROM).state == S.ACTIVE


def test_tones_for_badges():
    assert status(12, 10).tone == "warn"
    assert status(12, 12).tone == "danger"
    assert status(today=UNTIL + datetime.timedelta(days=3)).tone == "danger"
    assert not status(12, 0).needs_attention


dates = st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2030, 12, 31))
ORDER = {S.ACTIVE: 0, S.RUNNING_OUT: 1, S.USED_UP: 2}


@given(
    authorized=st.integers(1, 500),
    used=st.integers(0, 1000),
    a=dates,
    b=dates,
    today=dates,
)
def test_visits_left_never_negative_and_states_follow_the_thresholds(authorized, used, a, b, today):
    valid_from, valid_until = min(a, b), max(a, b)
    s = authorization_status(authorized, used, valid_from, valid_until, today)
    assert 0 <= s.visits_left == max(authorized - used, 0)
    assert s.days_left == (valid_until - today).days
    if today > valid_until:
        assert s.state == S.EXPIRED
    elif today < valid_from:
        assert s.state == S.NOT_YET_VALID
    elif s.visits_left == 0:
        assert s.state == S.USED_UP
    elif s.visits_left <= 2 or s.days_left <= 7:
        assert s.state == S.RUNNING_OUT and s.warnings
    else:
        assert s.state == S.ACTIVE and s.warnings == []


@given(authorized=st.integers(1, 60), a=dates, b=dates, today=dates)
def test_state_moves_only_forward_as_visits_are_used(authorized, a, b, today):
    valid_from, valid_until = min(a, b), max(a, b)
    states = [
        authorization_status(authorized, used, valid_from, valid_until, today).state for used in range(authorized + 3)
    ]
    if valid_from <= today <= valid_until:
        ranks = [ORDER[state] for state in states]
        assert ranks == sorted(ranks)
        assert states[authorized] == S.USED_UP
    else:
        assert len(set(states)) == 1
