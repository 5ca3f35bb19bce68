"""De-duplication and the per-channel rate limit, on a clock the test moves (no threads)."""

from __future__ import annotations

from algo_trading.adapters.notify.policy import ChannelLimiter, Deduplicator, RateLimit
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity

S = 1_000_000_000
T0 = 1_764_660_000 * S  # 2025-12-02 07:20 UTC, any fixed instant


def alert(
    code: str = "FEED_STALE",
    *,
    symbol: str = "SBIN-EQ",
    severity: AlertSeverity = AlertSeverity.WARNING,
    ts_ns: int = T0,
) -> Alert:
    return Alert(code, severity, f"{code} on {symbol}", ts_ns, symbol=symbol)


# --- de-duplication --------------------------------------------------------------------------


def test_a_repeat_within_the_window_is_held_back_and_the_next_one_after_it_says_how_many() -> None:
    dedupe = Deduplicator(window_s=60)
    assert dedupe.admit(alert(), T0) is not None
    assert dedupe.admit(alert(), T0 + 10 * S) is None
    assert dedupe.admit(alert(), T0 + 59 * S) is None

    later = dedupe.admit(alert(), T0 + 60 * S)

    assert later is not None
    assert later.details["repeats_held_back"] == "2"
    assert dedupe.held_back == 2


def test_the_window_runs_from_the_last_alert_sent_not_the_last_repeat() -> None:
    dedupe = Deduplicator(window_s=60)
    dedupe.admit(alert(), T0)
    for second in range(1, 120):
        if second == 60:
            assert dedupe.admit(alert(), T0 + second * S) is not None
        else:
            assert dedupe.admit(alert(), T0 + second * S) is None, second


def test_a_different_scope_or_code_is_a_different_alert() -> None:
    dedupe = Deduplicator(window_s=60)
    assert dedupe.admit(alert(symbol="SBIN-EQ"), T0) is not None
    assert dedupe.admit(alert(symbol="INFY-EQ"), T0) is not None
    assert dedupe.admit(alert("RISK_BREACH", symbol="SBIN-EQ"), T0) is not None
    assert dedupe.held_back == 0


def test_a_repeat_more_severe_than_the_one_sent_goes_out_at_once() -> None:
    dedupe = Deduplicator(window_s=60)
    dedupe.admit(alert(severity=AlertSeverity.WARNING), T0)
    assert dedupe.admit(alert(severity=AlertSeverity.CRITICAL), T0 + S) is not None
    assert dedupe.admit(alert(severity=AlertSeverity.CRITICAL), T0 + 2 * S) is None
    assert dedupe.admit(alert(severity=AlertSeverity.WARNING), T0 + 3 * S) is None


def test_memory_stays_bounded_when_every_alert_has_its_own_scope() -> None:
    dedupe = Deduplicator(window_s=60, max_keys=100)
    for i in range(1000):
        dedupe.admit(alert(symbol=f"S{i}"), T0 + i)
    assert len(dedupe._seen) <= 100


# --- rate limit ------------------------------------------------------------------------------


def test_a_burst_goes_out_then_the_rest_is_held_and_summed_up_when_the_limit_lifts() -> None:
    limiter = ChannelLimiter("telegram", RateLimit(per_minute=6, burst=3), T0)
    sent = [limiter.admit(alert(symbol=f"S{i}"), T0) for i in range(5)]
    assert [len(out) for out in sent] == [1, 1, 1, 0, 0]
    assert limiter.due(T0 + 9 * S) == []  # one token takes 10 s at 6 a minute

    summary = limiter.due(T0 + 10 * S)

    assert len(summary) == 1
    assert summary[0].code == AlertCode.ALERTS_SUPPRESSED
    assert summary[0].details["suppressed"] == "2"
    assert "2 alerts suppressed by the telegram rate limit" in summary[0].text
    assert summary[0].details["codes"] == "FEED_STALE x2"
    assert limiter.due(T0 + 11 * S) == []  # once
    assert limiter.held_back == 2


def test_the_summary_takes_a_token_so_the_channel_never_exceeds_its_rate() -> None:
    limit = RateLimit(per_minute=6, burst=2)
    limiter = ChannelLimiter("sns", limit, T0)
    sent = 0
    # One alert a second for ten minutes: a storm of distinct alerts.
    for second in range(600):
        sent += len(limiter.admit(alert(symbol=f"S{second}"), T0 + second * S))
    assert sent <= limit.burst + 6 * 10
    assert sent >= 6 * 10 - 1


def test_the_summary_carries_the_worst_severity_held_back_and_every_code() -> None:
    limiter = ChannelLimiter("smtp", RateLimit(per_minute=1, burst=1), T0)
    limiter.admit(alert(), T0)
    limiter.admit(alert("KILL_SWITCH", severity=AlertSeverity.CRITICAL), T0)
    limiter.admit(alert("FEED_STALE"), T0)

    out = limiter.admit(alert("RISK_BREACH"), T0 + 60 * S)

    assert [a.code for a in out] == [AlertCode.ALERTS_SUPPRESSED]
    assert out[0].severity is AlertSeverity.CRITICAL
    assert out[0].details["codes"] == "FEED_STALE x1, KILL_SWITCH x1"
    assert limiter.holding == 1  # the summary took the token: RISK_BREACH waits for the next


def test_a_channel_without_a_limit_sends_everything() -> None:
    limiter = ChannelLimiter("log", None, T0)
    assert sum(len(limiter.admit(alert(symbol=f"S{i}"), T0)) for i in range(1000)) == 1000


def test_a_pause_holds_everything_until_it_ends_even_with_tokens_left() -> None:
    limiter = ChannelLimiter("telegram", RateLimit(per_minute=60, burst=10), T0)
    limiter.pause(T0 + 30 * S)
    assert limiter.admit(alert(), T0 + S) == []
    assert limiter.due(T0 + 29 * S) == []

    out = limiter.admit(alert("RISK_BREACH"), T0 + 30 * S)

    assert [a.code for a in out] == [AlertCode.ALERTS_SUPPRESSED, "RISK_BREACH"]


def test_a_summary_that_is_refused_again_keeps_what_it_summed_up() -> None:
    limiter = ChannelLimiter("telegram", RateLimit(per_minute=60, burst=10), T0)
    limiter.pause(T0 + 10 * S)
    limiter.admit(alert(), T0)
    limiter.admit(alert("KILL_SWITCH"), T0)
    [summary] = limiter.due(T0 + 10 * S)

    limiter.hold(summary, T0 + 10 * S)  # the server said "retry after" once more
    limiter.pause(T0 + 20 * S)
    [again] = limiter.due(T0 + 20 * S)

    assert again.details["codes"] == "FEED_STALE x1, KILL_SWITCH x1"
    assert again.details["suppressed"] == "2"
