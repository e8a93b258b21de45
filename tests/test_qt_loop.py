"""The dialog's event loop (qasync on the real Qt loop): callbacks run in order, at their time, once, and a
cancelled one leaves nothing behind — not even after a dialog has streamed many runs over HTTP."""

from __future__ import annotations

import asyncio

from PyQt6.QtCore import QCoreApplication
from qt_helpers import make_dialog, qrun, until

from gimp_gptimage.server import LocalServer
from qt_ui.loop import EventLoop

pytest_plugins = ["qt_fixtures"]


def test_callbacks_run_once_in_order_and_cancelled_ones_never(qloop: EventLoop) -> None:
    ran: list[str] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        for name in "abc":
            loop.call_soon(ran.append, name)
        loop.call_later(0.05, ran.append, "late")
        loop.call_later(0.02, ran.append, "early")
        loop.call_later(0.01, ran.append, "cancelled").cancel()
        await asyncio.sleep(0.15)

    qrun(qloop, scenario())
    assert ran == ["a", "b", "c", "early", "late"]


def test_a_timed_callback_never_comes_before_its_time(qloop: EventLoop) -> None:
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        lateness: list[float] = []
        for delay in (0.001, 0.0125, 0.05, 0.2):
            due = loop.time() + delay
            done = loop.create_future()
            loop.call_at(due, lambda due=due, done=done: (lateness.append(loop.time() - due), done.set_result(None)))
            await done
        return lateness

    assert min(qrun(qloop, scenario())) >= 0


def test_cancelled_deadlines_leave_no_timer_behind(qloop: EventLoop) -> None:
    """Every read httpx makes arms a deadline and cancels it; qasync kept each one's Qt timer for the whole
    read timeout (ten minutes), and Qt searches its timer list linearly on every start and stop."""

    async def scenario() -> int:
        before = qloop.pending_callbacks
        for _ in range(2000):
            async with asyncio.timeout(600):
                await asyncio.sleep(0)
        return qloop.pending_callbacks - before

    assert qrun(qloop, scenario()) == 0


def test_a_callback_running_a_nested_event_loop_runs_once(qloop: EventLoop) -> None:
    calls: list[int] = []

    def nested() -> None:
        calls.append(1)
        for _ in range(20):  # its own timer must not fire again in here
            QCoreApplication.processEvents()

    async def scenario() -> None:
        asyncio.get_running_loop().call_soon(nested)
        await asyncio.sleep(0.1)

    qrun(qloop, scenario())
    assert calls == [1]


def test_streamed_runs_do_not_pile_up_timers(qloop: EventLoop, qtbot, job_dir, temp_home) -> None:
    """A dialog left open for a working session: run after run streams partial images over HTTP; what is
    waiting on the loop afterwards does not grow with the number of runs."""
    with LocalServer(latency=0.3) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> list[int]:
            qtbot.keyClicks(dialog.prompt_view.edit, "remove the yellow disc")
            dialog.model.n = 2
            dialog.model.partial_images = 2
            pending: list[int] = []
            for _ in range(4):
                dialog.run()
                await until(lambda: dialog.model.state != "running", what="the run to end")
                assert dialog.model.state == "done", dialog.model.error
                await asyncio.sleep(0.2)  # the results' last steps settle
                pending.append(qloop.pending_callbacks)
            return pending

        pending = qrun(qloop, scenario())
    assert max(pending) <= 10, pending  # the dialog's own few (a history reload, a connection's keep-alive)
