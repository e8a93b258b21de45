"""The dialog says when fewer images arrived than were asked for, and keeps the ones that did."""

from __future__ import annotations

from qt_helpers import make_dialog, qrun, until

from gimp_gptimage.server import Fault, LocalServer

pytest_plugins = ["qt_fixtures"]


def test_the_dialog_says_1_of_2_images_arrived(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(faults=()) as server:
        server.faults.add(Fault("fewer"))
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "two boats"
            dialog.model.n = 2
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the run")

        qrun(qloop, scenario())
    assert dialog.model.state == "done" and [r.index for r in dialog.model.results] == [0]
    assert dialog.run_view.info.text().startswith("1 of 2 images arrived. 1 result(s) saved in history.")
    assert dialog.run_view.info.isVisibleTo(dialog)
