"""Actors are pykka actors running as gevent greenlets on the one hub the users share (ADR 0002)."""

from __future__ import annotations

import threading
from typing import Any

import gevent
import pykka

from horde.actors.base import HordeActor


class WhereAmI(HordeActor):
    def on_receive(self, message: Any) -> Any:
        return gevent.getcurrent(), gevent.get_hub(), threading.current_thread()


def test_actors_run_as_greenlets_on_the_main_hub() -> None:
    ref = WhereAmI.start()
    try:
        greenlet, hub, thread = ref.ask("where")
    finally:
        ref.stop()
    assert isinstance(greenlet, gevent.Greenlet)
    assert hub is gevent.get_hub()
    assert greenlet is not gevent.getcurrent()
    assert thread.daemon


def test_many_actors_interleave_with_greenlets_cooperatively() -> None:
    refs = [WhereAmI.start() for _ in range(200)]
    ticks: list[int] = []
    ticker = gevent.spawn(lambda: [ticks.append(i) or gevent.sleep(0) for i in range(50)])
    try:
        futures = [ref.ask("where", block=False) for ref in refs]
        results = pykka.get_all(futures, timeout=10)
    finally:
        for ref in refs:
            ref.stop()
    ticker.join(timeout=5)
    assert len({id(r[0]) for r in results}) == 200
    assert len(ticks) == 50
