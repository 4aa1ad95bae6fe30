"""The rejection budget: a window's first rejections are journaled, the rest counted into one summary (ADR 0024)."""

from __future__ import annotations

from horde.actors import master as m
from horde.actors.rejections import JOURNALED_PER_WINDOW, PEERS_NAMED, WINDOW_SECONDS, RejectionBudget
from horde.protocol.events import RejectionsSummarised


def test_a_flood_costs_one_window_its_budget_then_one_summary() -> None:
    budget = RejectionBudget()
    peers = [f"peer-{n % (PEERS_NAMED + 5)}" for n in range(10_000)]
    journaled = [budget.take(1.0 + n * 1e-4, peer) for n, peer in enumerate(peers)]
    assert sum(journaled) == JOURNALED_PER_WINDOW and all(journaled[:JOURNALED_PER_WINDOW])
    assert budget.due(1.0 + WINDOW_SECONDS / 2) is None  # the window is not over
    count, by_peer, other_peers, seconds = budget.due(1.0 + WINDOW_SECONDS) or (0, {}, 0, 0.0)
    assert count == 10_000 - JOURNALED_PER_WINDOW
    suppressed = peers[JOURNALED_PER_WINDOW:]
    named = list(dict.fromkeys(suppressed))[:PEERS_NAMED]
    assert by_peer == {peer: suppressed.count(peer) for peer in named}
    assert len(by_peer) == PEERS_NAMED and other_peers == 5 and seconds == WINDOW_SECONDS
    assert budget.take(20.0, "peer-0"), "a new window journals again"


def test_a_quiet_window_ends_without_a_summary() -> None:
    budget = RejectionBudget()
    assert budget.take(1.0, "one") and budget.due(1.0 + WINDOW_SECONDS) is None


def test_the_master_decides_the_summary_it_is_given() -> None:
    state = m.MasterState()
    events = m.decide(state, m.SummariseRejections(12.0, 950, {"127.0.0.1": 900}, 3, 10.0))
    assert events == [RejectionsSummarised(950, {"127.0.0.1": 900}, 3, 10.0, 12.0)]
    assert m.decide(state, m.SummariseRejections(12.0, 0, {}, 0, 10.0)) == []
    assert m.apply(state, events[0]) == state  # a summary changes nothing: replay is the same without it
