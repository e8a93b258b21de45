"""History keeps how many images a clean answer brought, so "1 of 2 images arrived" is seen again later:
in `gimp-gptimage history` and in the dialog's history tab. Records written before it read as before."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TempHome
from faults_helpers import KEY as FAULT_KEY
from faults_helpers import RecordedServer, one_line_error, run_cli
from jobs_samples import COFFEE, SPOON
from qt_helpers import qrun, until

from gimp_gptimage.api import ImageParams
from gimp_gptimage.history import HistoryRecord, HistoryStore
from gimp_gptimage.server import Fault
from qt_ui.history_view import HistoryView

pytest_plugins = ["qt_fixtures", "conftest_faults"]


def test_the_record_keeps_the_count_and_says_the_shortfall(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(HistoryRecord(kind="generate", prompt="x", params=ImageParams("x", n=2)))
    store.finish(entry_id, images_arrived=1)
    record = store.get(entry_id).record
    assert record.images_arrived == 1 and record.shortfall == "1 of 2 images arrived"
    assert HistoryRecord.from_json(record.to_json()) == record

    whole = store.begin(HistoryRecord(kind="generate", prompt="x", params=ImageParams("x", n=2)))
    store.finish(whole, images_arrived=2)
    assert store.get(whole).record.shortfall is None


def test_a_record_from_before_reads_without_a_shortfall(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(HistoryRecord(kind="generate", prompt="x", params=ImageParams("x", n=2)))
    store.finish(entry_id)
    path = store.get(entry_id).folder / "record.json"
    old = json.loads(path.read_text())
    del old["images_arrived"]  # as the previous version wrote it
    path.write_text(json.dumps(old))
    record = store.get(entry_id).record
    assert record.images_arrived is None and record.shortfall is None and record.status == "done"
    hand_edited = HistoryRecord.from_json({**old, "images_arrived": "one"})
    assert hand_edited.images_arrived is None and "images_arrived" not in hand_edited.extra


def test_the_cli_history_and_the_history_tab_show_it(
    api: RecordedServer, home: Path, temp_home: TempHome, qloop, qtbot
) -> None:
    api.faults.add(Fault("fewer"))
    edit = ["edit", COFFEE.name, "--selection", SPOON.name, "--prompt", "Remove the spoon", "-n", "2"]
    proc = run_cli(*edit, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=FAULT_KEY)
    assert one_line_error(proc, 1).startswith("1 of 2 images arrived")

    listed = run_cli("history", "list", "--json", home=home)
    (entry,) = json.loads(listed.stdout)
    assert entry["shortfall"] == "1 of 2 images arrived" and entry["record"]["images_arrived"] == 1
    assert "(1 of 2 images arrived)" in run_cli("history", "list", home=home).stdout
    shown = run_cli("history", "show", entry["id"], home=home).stdout
    assert "arrived:   1 of 2 images arrived" in shown

    view = HistoryView(HistoryStore(temp_home.history_dir))
    qtbot.addWidget(view)
    qrun(qloop, until(lambda: view.loaded, what="the history to load"))
    assert view.list.count() == 1
    assert "1 of 2 images arrived." in view.list.item(0).text()  # type: ignore[union-attr]
