"""The worker's decisions as plain values: no sockets, no greenlets, no actors (horde/actors/worker_logic.py)."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.actors.worker_logic import (
    MAX_UNACKED_REPORTS,
    Accepted,
    AskedToRejoin,
    CustomMessageReceived,
    FinalReportRequested,
    GoodbyeSaid,
    IncarnationStarted,
    Left,
    LoadTestStarted,
    LoadTestStopped,
    LoadTestStopping,
    MasterLost,
    MasterSilent,
    OptionsReceived,
    QuitDecided,
    QuitRequest,
    Reconnected,
    Rejected,
    RejoinAsked,
    ReportDue,
    ReportGivenUp,
    ReportsAcknowledged,
    ReportSent,
    StateChanged,
    StepStarted,
    StopConfirmed,
    StopTimeoutChanged,
    UsersSpawned,
    UsersStopped,
    WorkerActorState,
    WorkerCommand,
    WorkerEvent,
    apply,
    decide,
    initial_state,
)
from horde.protocol.messages import (
    Accept,
    LocustfileReply,
    MasterCustom,
    MasterHeartbeat,
    MasterQuit,
    Reject,
    Rejoin,
    Spawn,
    StatsAck,
    Stop,
)
from horde.protocol.states import WorkerState
from horde.protocol.stats import ErrorDelta, StatsDelta

W = WorkerState
EMPTY = StatsDelta()
MEASURED = StatsDelta(errors=(ErrorDelta("GET", "/", "boom", 1, 1.0, 1.0),))
OWN_STATES = [W.CONNECTING, W.READY, W.SPAWNING, W.RUNNING, W.STOPPING, W.STOPPED, W.QUIT]


def worker(state: WorkerState = W.CONNECTING, **changes: object) -> WorkerActorState:
    return replace(initial_state("inc-0", stop_timeout=3.0), state=state, **changes)  # type: ignore[arg-type]


def handle(state: WorkerActorState, message: WorkerCommand) -> tuple[WorkerActorState, list[WorkerEvent]]:
    """What the shell does, minus the side effects: fold each event, and number a requested final report at once."""
    seen: list[WorkerEvent] = []
    for event in decide(state, message):
        state = apply(state, event)
        seen.append(event)
        if isinstance(event, FinalReportRequested):
            state, reported = handle(state, ReportDue(True, EMPTY, 0.0))
            seen += reported
    return state, seen


# --- Accept ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("incarnation", ["", "inc-0"])
def test_an_accept_for_this_incarnation_admits_it_and_resends_what_is_unacknowledged(incarnation: str) -> None:
    state = worker(unacknowledged=(("old", 4), ("old", 5)))
    after, events = handle(state, Accept(7, incarnation))
    assert events == [Accepted(7, (("old", 4), ("old", 5)))]
    assert (after.state, after.worker_index) == (W.READY, 7)


@pytest.mark.parametrize("state", OWN_STATES)
def test_an_accept_for_another_incarnation_changes_nothing(state: WorkerState) -> None:
    assert decide(worker(state), Accept(3, "an-incarnation-it-no-longer-is")) == []


@pytest.mark.parametrize("state", [s for s in OWN_STATES if s != W.CONNECTING])
def test_a_duplicate_or_late_accept_changes_nothing_once_admitted(state: WorkerState) -> None:
    assert decide(worker(state, worker_index=1), Accept(9, "inc-0")) == []


# --- Spawn ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [W.READY, W.STOPPED])
def test_the_first_step_after_ready_or_stopped_starts_the_test(state: WorkerState) -> None:
    after, events = handle(worker(state), Spawn(1, {"Shopper": 2}, "http://shop", 5.0))
    assert events == [
        StepStarted(1),
        StopTimeoutChanged(5.0),
        LoadTestStarted("http://shop"),
        StateChanged(W.SPAWNING),
        UsersSpawned(1, {"Shopper": 2}),
        StateChanged(W.RUNNING),
    ]
    assert (after.state, after.last_step, after.stop_timeout) == (W.RUNNING, 1, 5.0)


def test_the_masters_options_are_set_before_the_test_starts_and_with_every_step() -> None:
    options = {"my_arg": "from-master"}
    _, first = handle(worker(W.READY), Spawn(1, {"Shopper": 2}, None, None, options))
    assert first[:3] == [StepStarted(1), OptionsReceived(options), LoadTestStarted(None)]
    _, later = handle(worker(W.RUNNING, last_step=1), Spawn(2, {"Shopper": 3}, None, None, options))
    assert later[:2] == [StepStarted(2), OptionsReceived(options)]


def test_a_later_step_while_running_changes_the_counts_without_starting_the_test_again() -> None:
    after, events = handle(worker(W.RUNNING, last_step=1), Spawn(2, {"Shopper": 5}))
    assert events == [
        StepStarted(2),
        StateChanged(W.SPAWNING),
        UsersSpawned(2, {"Shopper": 5}),
        StateChanged(W.RUNNING),
    ]
    assert (after.last_step, after.stop_timeout) == (2, 3.0)


@pytest.mark.parametrize("step", [3, 2])
def test_a_duplicate_or_overtaken_step_is_ignored(step: int) -> None:
    assert decide(worker(W.RUNNING, last_step=3), Spawn(step, {"Shopper": 1})) == []


@pytest.mark.parametrize("state", [W.CONNECTING, W.STOPPING, W.QUIT])
def test_no_users_are_spawned_unadmitted_stopping_or_quit(state: WorkerState) -> None:
    assert decide(worker(state), Spawn(1, {"Shopper": 1})) == []


# --- Stop and MasterQuit --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [W.SPAWNING, W.RUNNING, W.STOPPING])
def test_stop_stops_the_users_reports_them_and_confirms(state: WorkerState) -> None:
    after, events = handle(worker(state, seq=4), Stop())
    assert events == [
        StateChanged(W.STOPPING),
        LoadTestStopping(),
        UsersStopped(3.0),
        FinalReportRequested(),
        ReportSent("inc-0", 5, True),
        StopConfirmed(),
        StateChanged(W.STOPPED),
        LoadTestStopped(),
    ]
    assert after.state == W.STOPPED and after.unacknowledged == (("inc-0", 5),)


def test_stop_without_users_only_confirms() -> None:
    after, events = handle(worker(W.READY), Stop())
    assert events == [StopConfirmed(), StateChanged(W.STOPPED)]
    assert after.state == W.STOPPED


def test_a_stop_before_the_accept_is_for_an_earlier_incarnation_and_the_accept_still_counts() -> None:
    state = worker(W.CONNECTING, unacknowledged=(("inc-old", 3),))
    assert decide(state, Stop()) == []
    after, events = handle(state, Accept(0, "inc-0"))
    assert after.state != W.STOPPED
    assert any(isinstance(e, Accepted) and e.resend == (("inc-old", 3),) for e in events), events


@pytest.mark.parametrize("state", [W.STOPPED, W.QUIT])
def test_stop_when_stopped_or_quit_does_nothing(state: WorkerState) -> None:
    assert decide(worker(state), Stop()) == []


def test_master_quit_stops_reports_and_leaves_keeping_the_exit_code() -> None:
    after, events = handle(worker(W.RUNNING), MasterQuit("run over"))
    assert events[0] == QuitDecided("the master said: run over")
    assert StopConfirmed() in events and ReportSent("inc-0", 1, True) in events
    assert events[-1] == Left()
    assert (after.state, after.outcome_reason, after.exit_code) == (W.QUIT, "the master said: run over", 0)


# --- QuitRequest and Reject -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [W.CONNECTING, W.READY, W.STOPPED])
def test_a_quit_request_with_no_users_says_goodbye_and_leaves(state: WorkerState) -> None:
    after, events = handle(worker(state), QuitRequest("SIGTERM received"))
    assert events == [QuitDecided("SIGTERM received"), GoodbyeSaid("SIGTERM received"), Left()]
    assert (after.state, after.outcome_reason, after.exit_code) == (W.QUIT, "SIGTERM received", 0)


@pytest.mark.parametrize("state", [W.SPAWNING, W.RUNNING, W.STOPPING])
def test_a_quit_request_with_users_stops_and_reports_them_first(state: WorkerState) -> None:
    _, events = handle(worker(state), QuitRequest("SIGINT received"))
    assert events == [
        QuitDecided("SIGINT received"),
        UsersStopped(3.0),
        FinalReportRequested(),
        ReportSent("inc-0", 1, True),
        GoodbyeSaid("SIGINT received"),
        Left(),
    ]


def test_a_quit_request_leaves_an_exit_code_the_process_chose() -> None:
    after, _ = handle(worker(W.READY, exit_code=2), QuitRequest("the master speaks another protocol"))
    assert after.exit_code == 2


@pytest.mark.parametrize("state", OWN_STATES)
def test_a_reject_quits_with_exit_code_2(state: WorkerState) -> None:
    after, events = handle(worker(state), Reject("bad token"))
    assert events == [Rejected("bad token"), QuitDecided("rejected by master: bad token", 2), Left()]
    assert (after.state, after.exit_code) == (W.QUIT, 2)


# --- rejoining --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [W.READY, W.SPAWNING, W.RUNNING, W.STOPPED])
def test_a_rejoin_asked_by_the_master_starts_a_new_incarnation(state: WorkerState) -> None:
    before = worker(state, worker_index=4, last_step=6, seq=2)
    after, events = handle(before, RejoinAsked("unknown incarnation", "inc-1"))
    assert events == [
        AskedToRejoin("unknown incarnation"),
        UsersStopped(3.0),
        FinalReportRequested(),
        ReportSent("inc-0", 3, True),
        IncarnationStarted("inc-1"),
    ]
    assert (after.incarnation, after.state, after.seq, after.last_step) == ("inc-1", W.CONNECTING, 0, 0)
    assert after.worker_index == 4  # until a master accepts the new incarnation
    assert after.unacknowledged == (("inc-0", 3),)


@pytest.mark.parametrize("state", [W.CONNECTING, W.QUIT])
def test_a_rejoin_is_ignored_when_not_admitted_or_quit(state: WorkerState) -> None:
    assert decide(worker(state), RejoinAsked("again", "inc-1")) == []


def test_a_raw_rejoin_decides_nothing_the_shell_draws_the_incarnation_first() -> None:
    assert decide(worker(W.RUNNING), Rejoin("again")) == []


def test_a_lost_master_makes_the_worker_reconnect_as_a_new_incarnation() -> None:
    after, events = handle(worker(W.RUNNING, seq=1), MasterLost(3.5, "inc-0", "inc-1"))
    assert events == [
        MasterSilent(3.5),
        UsersStopped(3.0),
        FinalReportRequested(),
        ReportSent("inc-0", 2, True),
        Reconnected(),
        IncarnationStarted("inc-1"),
    ]
    assert after.state == W.CONNECTING


def test_a_lost_master_makes_the_worker_quit_with_code_1_when_so_configured() -> None:
    state = worker(W.RUNNING, quit_when_master_lost=True)
    after, events = handle(state, MasterLost(3.46, "inc-0", "inc-1"))
    reason = "the master has been silent for 3.5 s (--quit-when-master-lost)"
    assert events == [QuitDecided(reason, 1), UsersStopped(3.0), Left()]
    assert (after.state, after.exit_code, after.incarnation) == (W.QUIT, 1, "inc-0")


@pytest.mark.parametrize(("state", "incarnation"), [(W.RUNNING, "inc-old"), (W.CONNECTING, "inc-0"), (W.QUIT, "inc-0")])
def test_a_lost_master_is_ignored_for_a_replaced_unadmitted_or_quit_incarnation(
    state: WorkerState, incarnation: str
) -> None:
    assert decide(worker(state), MasterLost(9.0, incarnation, "inc-1")) == []


def test_reports_of_the_replaced_incarnation_are_resent_once_the_new_one_is_accepted() -> None:
    state, _ = handle(worker(W.RUNNING), ReportDue(False, MEASURED, 1.0))
    state, _ = handle(state, RejoinAsked("again", "inc-1"))
    state, _ = handle(state, Accept(0, "inc-0"))  # the old incarnation's acceptance, arriving late
    assert state.state == W.CONNECTING
    state, events = handle(state, Accept(0, "inc-1"))
    assert events == [Accepted(0, (("inc-0", 1), ("inc-0", 2)))]


# --- reports and their acknowledgement ----------------------------------------------------------------------------


def test_an_empty_periodic_report_is_not_sent_but_an_empty_final_one_is() -> None:
    state = worker(W.RUNNING, seq=2)
    assert decide(state, ReportDue(False, EMPTY, 1.0)) == []
    assert decide(state, ReportDue(True, EMPTY, 1.0)) == [ReportSent("inc-0", 3, True)]
    assert decide(state, ReportDue(False, MEASURED, 1.0)) == [ReportSent("inc-0", 3, False)]


def test_the_oldest_unacknowledged_report_is_given_up_past_the_limit() -> None:
    kept = tuple(("inc-0", seq) for seq in range(1, MAX_UNACKED_REPORTS + 1))
    state = worker(W.RUNNING, seq=MAX_UNACKED_REPORTS, unacknowledged=kept)
    after, events = handle(state, ReportDue(False, MEASURED, 1.0))
    assert events == [ReportGivenUp(("inc-0", 1)), ReportSent("inc-0", MAX_UNACKED_REPORTS + 1, False)]
    assert len(after.unacknowledged) == MAX_UNACKED_REPORTS
    assert after.unacknowledged[0] == ("inc-0", 2) and after.unacknowledged[-1][1] == MAX_UNACKED_REPORTS + 1


def test_a_stats_ack_forgets_the_reports_of_its_incarnation_up_to_its_seq() -> None:
    state = worker(W.RUNNING, unacknowledged=(("old", 1), ("inc-0", 1), ("inc-0", 2), ("inc-0", 3)))
    after, events = handle(state, StatsAck("inc-0", 2))
    assert events == [ReportsAcknowledged((("inc-0", 1), ("inc-0", 2)))]
    assert after.unacknowledged == (("old", 1), ("inc-0", 3))
    assert decide(after, StatsAck("inc-0", 2)) == []  # a duplicate acknowledges nothing more


def test_a_master_heartbeat_acknowledges_several_incarnations_at_once() -> None:
    state = worker(W.RUNNING, unacknowledged=(("old", 1), ("old", 2), ("inc-0", 1)))
    after, _ = handle(state, MasterHeartbeat({"old": 1, "inc-0": 1, "unknown": 9}))
    assert after.unacknowledged == (("old", 2),)
    assert decide(after, MasterHeartbeat({})) == []


# --- the rest -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", OWN_STATES)
def test_custom_messages_reach_the_listeners_in_every_state(state: WorkerState) -> None:
    assert decide(worker(state), MasterCustom("greet", {"n": 1})) == [CustomMessageReceived("greet", {"n": 1})]


def test_a_locustfile_reply_is_no_business_of_a_running_worker() -> None:
    assert decide(worker(W.RUNNING), LocustfileReply("f.py", "")) == []


@pytest.mark.parametrize(
    "event",
    [
        LoadTestStarted(None),
        UsersSpawned(1, {}),
        LoadTestStopping(),
        UsersStopped(1.0),
        FinalReportRequested(),
        StopConfirmed(),
        LoadTestStopped(),
        AskedToRejoin("x"),
        MasterSilent(1.0),
        Reconnected(),
        Rejected("x"),
        CustomMessageReceived("k", None),
        GoodbyeSaid("x"),
    ],
)
def test_events_that_only_call_for_side_effects_leave_the_state_alone(event: WorkerEvent) -> None:
    state = worker(W.RUNNING, seq=3, last_step=2)
    assert apply(state, event) == state


# --- properties over random conversations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One command with its incarnation left symbolic ("", "current", "stale", "other"), resolved when handled."""

    kind: str
    number: int = 0
    which: str = ""
    flag: bool = False
    timeout: float | None = None


class Conversation:
    """Turns what was said into commands: every new incarnation id is fresh, as the shell's are."""

    def __init__(self) -> None:
        self.drawn = ["inc-0"]

    def fresh(self) -> str:
        self.drawn.append(f"inc-{len(self.drawn)}")
        return self.drawn[-1]

    def incarnation(self, which: str, state: WorkerActorState) -> str:
        if which == "current":
            return state.incarnation
        if which == "stale":
            return self.drawn[0] if state.incarnation != self.drawn[0] else "never-drawn"
        return which

    def command(self, said: Said, state: WorkerActorState) -> WorkerCommand:
        simple: dict[str, WorkerCommand] = {
            "stop": Stop(),
            "custom": MasterCustom("k", None),
            "quit": QuitRequest("SIGTERM received"),
            "master_quit": MasterQuit("over"),
            "reject": Reject("no"),
        }
        if said.kind in simple:
            return simple[said.kind]
        if said.kind == "accept":
            return Accept(said.number, self.incarnation(said.which, state))
        if said.kind == "spawn":
            return Spawn(said.number, {"Shopper": 1}, None, said.timeout)
        if said.kind == "report":
            return ReportDue(said.flag, MEASURED if said.number else EMPTY, 0.0)
        if said.kind == "ack":
            return StatsAck(self.incarnation(said.which, state), said.number)
        if said.kind == "beat":
            return MasterHeartbeat({self.incarnation(said.which, state): said.number})
        if said.kind == "rejoin":
            return RejoinAsked("again", self.fresh())
        return MasterLost(5.0, self.incarnation(said.which, state), self.fresh())


_which = st.sampled_from(["", "current", "stale", "other"])
_said = st.one_of(
    st.builds(Said, st.just("accept"), st.integers(0, 3), _which),
    st.builds(Said, st.just("spawn"), st.integers(0, 6), timeout=st.sampled_from([None, 0.0, 2.0])),
    st.builds(Said, st.just("report"), st.integers(0, 1), flag=st.booleans()),
    st.builds(Said, st.sampled_from(["ack", "beat"]), st.integers(0, 8), _which),
    st.builds(Said, st.just("lost"), which=_which),
    st.builds(Said, st.sampled_from(["stop", "custom", "quit", "master_quit", "reject", "rejoin"])),
)
conversations = st.tuples(st.booleans(), st.lists(_said, max_size=40))


@settings(max_examples=300, deadline=None)
@given(conversations)
def test_invariants_hold_over_any_conversation(conversation: tuple[bool, list[Said]]) -> None:
    quit_when_lost, said = conversation
    names = Conversation()
    state = initial_state("inc-0", 1.0, quit_when_lost)
    last_seq: dict[str, int] = {}
    sent: list[tuple[str, int]] = []
    forgotten: set[tuple[str, int]] = set()
    for item in said:
        message = names.command(item, state)
        if isinstance(message, Accept) and message.incarnation not in ("", state.incarnation):
            assert decide(state, message) == []
        after, events = handle(state, message)
        if state.state == W.QUIT and not isinstance(message, QuitRequest | Reject | MasterQuit):
            # Queued behind the goodbye: only acknowledgements, reports and custom messages still do anything.
            assert all(isinstance(e, ReportsAcknowledged | ReportSent | CustomMessageReceived) for e in events)
        for event in events:
            if isinstance(event, ReportSent):
                assert event.seq == last_seq.get(event.incarnation, 0) + 1  # strictly growing: no gap, no reuse
                last_seq[event.incarnation] = event.seq
                sent.append((event.incarnation, event.seq))
            elif isinstance(event, ReportsAcknowledged):
                forgotten |= set(event.keys)
            elif isinstance(event, ReportGivenUp):
                forgotten.add(event.key)
            elif isinstance(event, UsersSpawned):
                assert state.state in (W.READY, W.RUNNING, W.STOPPED)  # only once admitted, never after quitting
        if after.incarnation == state.incarnation:
            assert after.last_step >= state.last_step and after.seq >= state.seq
        else:
            assert after.incarnation == names.drawn[-1]
            assert (after.state, after.seq, after.last_step) == (W.CONNECTING, 0, 0)
        if state.state == W.QUIT:
            assert after.state == W.QUIT
            assert (after.incarnation, after.last_step, after.worker_index) == (
                state.incarnation,
                state.last_step,
                state.worker_index,
            )
        assert list(after.unacknowledged) == [key for key in sent if key not in forgotten]
        state = after


@settings(max_examples=200, deadline=None)
@given(conversations)
def test_decide_is_deterministic_and_apply_leaves_the_previous_state_intact(
    conversation: tuple[bool, list[Said]],
) -> None:
    quit_when_lost, said = conversation
    names = Conversation()
    state = initial_state("inc-0", 1.0, quit_when_lost)
    for item in said:
        message = names.command(item, state)
        events = decide(state, message)
        assert decide(state, message) == events
        before, copy = state, deepcopy(state)
        for event in events:
            state = apply(state, event)
        assert before == copy
