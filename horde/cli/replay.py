"""`horde replay FILE`: a past run's state at any moment, its timeline, its HTML report, and a re-check of its
dispatch decisions.

Everything printed here is computed from the journal alone by `horde.actors.replay`, so two people replaying the
same file see the same thing, and `--json` output can be diffed between horde versions.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from typing import Any

from horde.actors import dispatcher_logic
from horde.actors.replay import ReplayState, check, check_checkpoints, records_until, replay_file
from horde.actors.replay.integrity import Problem, audit
from horde.cli.options import Parser, UsageError, parse_duration
from horde.plugins.html_report import render_html
from horde.protocol.journal import Header, JournalContents, JournalError
from horde.protocol.journal import read_journal as read
from horde.protocol.timeline import TIMELINE_DECODERS, timeline
from horde.runtime.reports import format_errors_table, format_percentiles_table, format_stats_table
from horde.stats.summary import summary_dict


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="horde replay", description="Rebuild a past run's state from its journal.")
    p.add_argument("file", help="a journal written by horde run (--journal)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="SECONDS", help="the state this long after the run started (30, 1m30s)")
    when.add_argument("--seq", type=int, metavar="N", help="the state right after event N")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the state as JSON")
    mode.add_argument("--timeline", action="store_true", help="one line per notable event instead of the state")
    mode.add_argument(
        "--check", action="store_true", help="fail if today's Dispatcher would not make the recorded decisions"
    )
    mode.add_argument("--html", metavar="PATH", help="write the run's HTML report to PATH, as horde run --html does")
    mode.add_argument("--web", action="store_true", help="serve the web UI over the journal instead (as horde ui)")
    p.add_argument("--type", action="append", help="with --timeline: only these event types (wildcards allowed)")
    p.add_argument("--source", action="append", help="with --timeline: only these sources (wildcards allowed)")
    return p


def run_replay(argv: list[str]) -> int:
    if "--web" in argv:
        from horde.cli.web import run_ui

        return run_ui([arg for arg in argv if arg != "--web"], prog="horde replay --web")
    args = parser().parse_args(argv)
    if (args.type or args.source) and not args.timeline:
        raise UsageError("--type and --source filter the --timeline")
    until_seconds = None if args.at is None else parse_duration(args.at, "--at")
    if args.seq is not None and args.seq < 0:
        raise UsageError(f"--seq must be >= 0, got {args.seq}")
    if args.html and (args.at is not None or args.seq is not None):
        raise UsageError("--html reports the whole run: leave out --at and --seq")
    try:
        if args.check or args.timeline:
            return _read_whole(args.file, args, until_seconds)
        replayed = replay_file(args.file, until_seq=args.seq, until_seconds=until_seconds)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    state = replayed.state
    if replayed.torn_tail:
        _warn_torn(state.seq)
    _warn_problems(replayed.problems)
    start = replayed.header.started_mono_ns
    # Asked for a moment between two events, the state is the earlier event's, seen from that moment.
    now_ns = state.mono_ns if replayed.final or until_seconds is None else start + round(until_seconds * 1e9)
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(render_html(state.aggregator.stats, args.file))
        except OSError as exc:
            raise UsageError(f"cannot write {args.html}: {exc.strerror or exc}") from None
        print(f"HTML report: {args.html}")
    elif args.json:
        print(json.dumps(state_dict(replayed.header, state, now_ns), indent=2, sort_keys=True))
    else:
        print(format_state(replayed.header, state, now_ns, final=replayed.final))
    return 0


def _warn_torn(last_seq: int) -> None:
    print(
        f"horde: warning: the journal's last line is torn (the run was killed?); replaying up to seq {last_seq}",
        file=sys.stderr,
    )


MAX_PROBLEMS_SHOWN = 10


def _problem_lines(problems: tuple[Problem, ...] | list[Problem]) -> list[str]:
    lines = [f"{problem.kind}: {problem.text}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return lines


def _verdict(problems: tuple[Problem, ...] | list[Problem]) -> str:
    if any(problem.incomplete for problem in problems):
        return "the totals are incomplete: they miss what was not written"
    return "the totals may not be the run's"


def _warn_problems(problems: tuple[Problem, ...]) -> None:
    """Replay still shows the state (it is all there is), but never silently: each problem, then what it means."""
    if not problems:
        return
    for line in _problem_lines(problems):
        print(f"horde: warning: journal {line}", file=sys.stderr)
    print(f"horde: warning: {_verdict(problems)}", file=sys.stderr)


def _read_whole(path: str, args: argparse.Namespace, until_seconds: float | None) -> int:
    """--check and --timeline look at every event, so they read the whole journal (the timeline, lightly)."""
    contents = read(path) if args.check else read(path, TIMELINE_DECODERS)
    if contents.torn_tail:
        _warn_torn(contents.records[-1].seq if contents.records else 0)
    start = contents.header.started_mono_ns
    records = list(
        records_until(contents.records, until_seq=args.seq, until_seconds=until_seconds, started_mono_ns=start)
    )
    if args.check:
        return _check(records, contents)
    _print_timeline(records, start, args.type, args.source)
    return 0


def _check(records: list[Any], contents: JournalContents) -> int:
    """Every kind of check, each reported: a journal that lies about one thing may lie about another."""
    problems = audit(contents, records).problems
    for line in _problem_lines(problems):
        print(f"horde replay --check: {line}")
    result = check(records)
    if result.divergence is not None:
        print(f"horde replay --check: DIVERGED at {result.divergence.describe()}")
    checkpoints, difference = check_checkpoints(records)
    if difference:
        print(f"horde replay --check: BAD CHECKPOINT at {difference}")
    if problems:
        print(f"horde replay --check: NOT INTACT, {len(problems)} problem(s); {_verdict(problems)}")
    if problems or result.divergence is not None or difference:
        return 1
    chain = (
        f"hash chain intact, last link {contents.last_link}"
        if contents.chained
        else f"format {contents.header.format_version} has no hash chain, so edits cannot be detected"
    )
    print(
        f"horde replay --check: ok, {len(records)} records in order without gaps; {chain};"
        f" {result.steps} dispatch steps from {result.commands} commands re-decided alike;"
        f" {checkpoints} checkpoint(s) equal to the fold before them"
    )
    return 0


def _print_timeline(records: list[Any], start_ns: int, types: list[str] | None, sources: list[str] | None) -> None:
    for entry in timeline(records):
        if types and not any(fnmatch.fnmatchcase(entry.type, t) for t in types):
            continue
        if sources and not any(fnmatch.fnmatchcase(entry.source, s) for s in sources):
            continue
        print(f"{(entry.mono_ns - start_ns) / 1e9:9.3f}s {entry.seq:>7} {entry.source:<16} {entry.text}")


def _seconds(header: Header, at: float | None) -> float | None:
    """A master-clock time (`at`, monotonic seconds) as seconds since the run's journal started."""
    return None if at is None else round(at - header.started_mono_ns / 1e9, 6)


def state_dict(header: Header, state: ReplayState, now_ns: int | None = None) -> dict[str, Any]:
    """The replayed state as plain JSON data; only journal contents, so the same file always prints the same."""
    now_ns = state.mono_ns if now_ns is None else now_ns
    now = now_ns / 1e9
    run = state.master
    dsp = state.dispatch
    return {
        "journal": {"run_id": header.run_id, "horde_version": header.horde_version, "format": header.format_version},
        "at": {"seq": state.seq, "seconds": round((now_ns - header.started_mono_ns) / 1e9, 6)},
        "run": {
            "state": run.run_state,
            "target_users": run.target_users,
            "spawn_rate": run.spawn_rate,
            "user_classes": None if run.user_classes is None else list(run.user_classes),
            "started_at": _seconds(header, run.started_at),
            "stopping_since": _seconds(header, run.stopping_since),
            "stop_reason": run.stop_reason,
            "run_time": None if run.config is None else run.config.run_time,
            "host": None if run.config is None else run.config.host,
            "members": {
                w: {"state": m.state, "index": m.index, "incarnation": m.incarnation} for w, m in run.members.items()
            },
        },
        "workers": {
            worker_id: {
                "state": w.state,
                "incarnation": w.incarnation,
                "index": w.index,
                "hostname": w.hostname,
                "seconds_since_heard": round(now - w.last_heard_at, 6),
                "cpu_percent": w.cpu_percent,
                "memory_bytes": w.memory_bytes,
                "cpu_warned": w.cpu_warned,
                "user_count": w.user_count,
                "user_counts": w.user_counts,
            }
            for worker_id, w in state.workers.items()
        },
        "dispatch": {
            "step": dsp.last_step,
            "target": dsp.target,
            "total": dsp.total,
            "spawn_rate": dsp.spawn_rate,
            "user_classes": None if dsp.user_classes is None else list(dsp.user_classes),
            "ramp_in_progress": dispatcher_logic.ramp_in_progress(dsp),
            "class_totals": dispatcher_logic.class_totals(dsp),
            "assignment": dsp.assignment,
        },
        "reports": {"merged": state.aggregator.reports_merged, "dropped": state.aggregator.reports_dropped},
        "opaque_events": state.opaque,
        "summary": summary_dict(state.aggregator.stats),
    }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "no users"


def format_state(header: Header, state: ReplayState, now_ns: int, *, final: bool) -> str:
    run, dsp = state.master, state.dispatch
    now = now_ns / 1e9
    elapsed = (now_ns - header.started_mono_ns) / 1e9 if state.seq else 0.0
    moment = f"the end ({elapsed:.3f} s)" if final else f"{elapsed:.3f} s"
    lines = [f"Run {header.run_id} (horde {header.horde_version}) at {moment}: up to seq {state.seq}"]
    target = "no target" if run.target_users is None else f"target {run.target_users} users at {run.spawn_rate:g}/s"
    reason = f" ({run.stop_reason})" if run.stop_reason else ""
    lines.append(f"Run state: {run.run_state}{reason}; {target}")
    lines.append(f"Workers ({len(state.workers)}):")
    for worker_id, w in state.workers.items():
        lines.append(
            f"  {worker_id:<12} {w.state:<9} heard {now - w.last_heard_at:6.1f} s ago  cpu {w.cpu_percent:5.1f} %"
            f"  {w.user_count} users: {_counts(w.user_counts)}"
        )
    ramp = "ramping" if dispatcher_logic.ramp_in_progress(dsp) else "steady"
    lines.append(f"Dispatch: step {dsp.last_step}, {dsp.total}/{dsp.target} users ({ramp}) at {dsp.spawn_rate:g}/s")
    for worker_id, counts in sorted(dsp.assignment.items()):
        lines.append(f"  {worker_id:<12} {_counts(counts)}")
    stats = state.aggregator.stats
    lines += ["", format_stats_table(stats, state.wall_ns / 1e9, current=False), "", format_percentiles_table(stats)]
    errors = format_errors_table(stats)
    if errors:
        lines += ["", errors]
    if state.opaque:
        lines.append("")
        lines.append("Opaque events (unknown types, kept as they are): " + _counts(state.opaque))
    return "\n".join(lines)
