"""Run real GIMP 3 inside the Debian roots built by .ci/gimp-root.sh: GIMP 3.0 (trixie) and GIMP 3.2 (forky).

Every real-GIMP test module takes the `gimp_root` fixture, parametrised over the versions (GIMP_VERSIONS,
default "3.0 3.2"), module-scoped so each module's GIMP launch happens once per version.

The plug-in is installed the way the README tells a user (`gimp-gptimage install --gimp-dir DIR`, run by the
root's venv Python so the recorded worker Python is valid inside the root), into a private GIMP user folder
(GIMP3_DIRECTORY) under the root's /tmp. Batch code runs through python-fu-eval and reports back through
files, since GIMP's own output is full of harmless noise.

Under CI (env CI set) a missing root or GIMP is a test failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import gimp_fake_worker
import pytest

PROJECT = Path(__file__).resolve().parent.parent
CACHE = Path("/var/cache/gimp-gptimage-ci")
SUITES = {"3.0": "trixie", "3.2": "forky"}
VERSIONS = os.environ.get("GIMP_VERSIONS", "3.0 3.2").split()
VENV_PYTHON = "/opt/gptimage-venv/bin/python"
GIMP_CONSOLE = "/usr/bin/gimp-console"
GIMP_GUI = "/usr/bin/gimp"
SETUP_SCRIPT = PROJECT / ".ci" / "gimp-root.sh"


@dataclass(frozen=True)
class GimpRoot:
    """One Debian root with one GIMP version, as .ci/gimp-root.sh VERSION builds it."""

    version: str
    path: Path

    @classmethod
    def for_version(cls, version: str) -> GimpRoot:
        return cls(version, CACHE / f"{SUITES[version]}-root")

    @property
    def stamp(self) -> Path:
        return self.path / ".gimp-gptimage-packages"

    def gimp_package_version(self) -> str:
        """The Debian gimp package's upstream version, e.g. 3.2.6."""
        status = (self.path / "var/lib/dpkg/status").read_text(encoding="utf-8")
        block = next(b for b in status.split("\n\n") if b.startswith("Package: gimp\n"))
        version = next(line.split(": ", 1)[1] for line in block.splitlines() if line.startswith("Version: "))
        return version.split(":")[-1].split("-")[0].split("~")[0]


def unavailable(reason: str) -> None:
    """Fail under CI (the real-GIMP tests are required there), skip on a developer machine."""
    message = f"real GIMP unavailable: {reason}. Build it with: sudo bash .ci/gimp-root.sh"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class GimpSession:
    """A private GIMP user folder with the plug-in installed, plus a scratch folder, inside the root."""

    root: GimpRoot
    host_dir: Path  # scratch folder as seen from the host
    inner_dir: str  # the same folder as seen inside the root

    @property
    def gimp_dir(self) -> str:
        return f"{self.inner_dir}/gimp"

    def host(self, inner: str) -> Path:
        return self.root.path / inner.lstrip("/")

    def env(self, extra: dict[str, str] | None = None) -> list[str]:
        home = f"{self.inner_dir}/home"
        values = {
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_CACHE_HOME": f"{home}/cache",
            "GIMP3_DIRECTORY": self.gimp_dir,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            **(extra or {}),
        }
        return [f"{k}={v}" for k, v in values.items()]

    def chroot(self, argv: list[str], extra_env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
        command = ["chroot", str(self.root.path), "/usr/bin/env", "-i", *self.env(extra_env), *argv]
        return subprocess.run(command, capture_output=True, text=True, **kwargs)

    def run_batch(
        self, code: str, extra_env: dict[str, str] | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess:
        """Run Python batch code in gimp-console-3.0 (python-fu-eval); returns the finished process."""
        argv = [GIMP_CONSOLE, "-i", "-n", "--batch-interpreter=python-fu-eval", "-b", "-", "--quit"]
        return self.chroot(argv, extra_env, input=batch_script(self, code), timeout=timeout)

    def run_gui_batch(
        self,
        code: str,
        extra_env: dict[str, str] | None = None,
        timeout: float = 240,
    ) -> subprocess.CompletedProcess:
        """Like run_batch, but in GIMP's real GUI on a private Xvfb display (for what only the GUI can do)."""
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            [
                "chroot",
                str(self.root.path),
                "/usr/bin/Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                "1280x1024x24",
            ],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        try:
            with os.fdopen(read_fd) as pipe:
                display = pipe.readline().strip()
            if not display:
                pytest.fail("Xvfb did not start inside the GIMP root", pytrace=False)
            argv = [GIMP_GUI, "-n", "--no-splash", "--batch-interpreter=python-fu-eval", "-b", "-", "--quit"]
            env = {"DISPLAY": f":{display}", **(extra_env or {})}
            return self.chroot(argv, env, input=batch_script(self, code), timeout=timeout)
        finally:
            xvfb.terminate()
            xvfb.wait(timeout=10)

    def start_gui_batch(self, code: str, display: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start GIMP's GUI on `display` running batch code, without waiting; its output goes to gimp.log."""
        argv = [GIMP_GUI, "-n", "--no-splash", "--batch-interpreter=python-fu-eval", "-b", "-", "--quit"]
        env = self.env({"DISPLAY": display, **(extra_env or {})})
        with open(self.host_dir / "gimp.log", "wb") as log:
            proc = subprocess.Popen(
                ["chroot", str(self.root.path), "/usr/bin/env", "-i", *env, *argv],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        assert proc.stdin is not None
        proc.stdin.write(batch_script(self, code))
        proc.stdin.close()
        return proc

    def install_plugin(self, worker_python: str | None = None) -> subprocess.CompletedProcess:
        """`gimp-gptimage install --gimp-dir DIR` run by the root's venv, as a user would run it.

        With worker_python, install() is called directly to record that interpreter instead (a stand-in).
        """
        venv_bin = Path(VENV_PYTHON).parent
        cli_wired = any(self.host(str(venv_bin.parent)).glob("lib/python3*/site-packages/gimp_gptimage/cli/main.py"))
        if worker_python is None and cli_wired:
            argv = [str(venv_bin / "gimp-gptimage"), "install", "--gimp-dir", self.gimp_dir]
        else:  # a stand-in worker, or the console script is not wired yet: call the function it calls
            python = worker_python or VENV_PYTHON
            code = f"from gimp_gptimage.install import install; install({self.gimp_dir!r}, python={python!r})"
            argv = [VENV_PYTHON, "-c", code]
        return self.chroot(argv, timeout=60)

    def venv_without_qt(self) -> str:
        """A venv inside the session with the project but without PyQt6 (installed with --no-deps, seeing only
        Debian's packages); returns its Python as seen inside the root."""
        venv = f"{self.inner_dir}/no-qt"
        script = (
            f"python3 -m venv --system-site-packages {venv} && {venv}/bin/pip -q --disable-pip-version-check "
            f"install --no-deps --no-index --no-build-isolation /opt/gptimage-src"
        )
        done = self.chroot(["sh", "-c", script], timeout=120)
        assert done.returncode == 0, done.stderr
        return f"{venv}/bin/python"

    def install_fake_worker(self) -> subprocess.CompletedProcess:
        """Install the plug-in with tests/gimp_fake_worker.py as its worker Python (see that file)."""
        gimp_fake_worker.copy_to(self.host_dir, "/usr/bin/python3")
        return self.install_plugin(worker_python=f"{self.inner_dir}/fake-python")

    def remove(self) -> None:
        """Delete the scratch folder, unless GPTIMAGE_KEEP_GIMP_SESSION is set (to look at the dumps)."""
        if not os.environ.get("GPTIMAGE_KEEP_GIMP_SESSION"):
            shutil.rmtree(self.host_dir, ignore_errors=True)


_prepared: set[str] = set()


def prepare_root(version: str) -> GimpRoot:
    """Check the version's root exists, then refresh the project inside it once per test run (everything
    else is cached)."""
    root = GimpRoot.for_version(version)
    if version in _prepared:
        return root
    if os.geteuid() != 0:
        unavailable("the tests need root to chroot")
    if not (root.stamp.is_file() and (root.path / GIMP_CONSOLE.lstrip("/")).exists()):
        unavailable(f"no GIMP {version} root at {root.path}")
    done = subprocess.run(["bash", str(SETUP_SCRIPT), version], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        pytest.fail(f".ci/gimp-root.sh {version} failed:\n{done.stderr[-3000:]}", pytrace=False)
    _prepared.add(version)
    return root


@pytest.fixture(scope="module", params=VERSIONS, ids=lambda v: f"gimp{v}")
def gimp_root(request: pytest.FixtureRequest) -> GimpRoot:
    """The GIMP root of one version; module scope, so pytest runs a module's tests version by version."""
    return prepare_root(request.param)


def new_session(root: GimpRoot) -> GimpSession:
    scratch = root.path / "tmp"
    host_dir = Path(tempfile.mkdtemp(prefix="gptimage-gimp-", dir=scratch))
    host_dir.chmod(0o755)
    session = GimpSession(root, host_dir, "/" + str(host_dir.relative_to(root.path)))
    for sub in ("gimp", "home", "out"):
        (host_dir / sub).mkdir()
    # A user folder that has seen this version already: no welcome window over the image, no update check.
    settings = f'(config-version "{root.gimp_package_version()}")\n(show-welcome-dialog no)\n(check-updates no)\n'
    (host_dir / "gimp" / "gimprc").write_text(settings, encoding="utf-8")
    return session


def read_report(path: Path, proc: subprocess.CompletedProcess | subprocess.Popen) -> dict:
    """The JSON a batch script wrote, or a failure showing GIMP's output (where captured) when there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        out = proc.stdout if isinstance(proc.stdout, str) else ""
        err = proc.stderr if isinstance(proc.stderr, str) else ""
        pytest.fail(
            f"GIMP batch produced no report (exit {proc.returncode}).\n--- stdout\n{out[-4000:]}\n"
            f"--- stderr\n{err[-6000:]}",
            pytrace=False,
        )


# Helpers for batch scripts, prepended to each one. OUT is the scratch "out" folder inside the root.
BATCH_PRELUDE = r'''
import json, os, time, traceback
import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio, GLib

PDB = Gimp.get_pdb()
REPORT = {}


def call(name, image, drawables, run_mode=Gimp.RunMode.NONINTERACTIVE, **args):
    """Run one of our procedures (non-interactively unless told); returns status, error message and wall time."""
    proc = PDB.lookup_procedure(name)
    if proc is None:
        raise RuntimeError("procedure %s is not registered" % name)
    cfg = proc.create_config()
    cfg.set_property("run-mode", run_mode)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", list(drawables))
    for key, value in args.items():
        cfg.set_property(key.replace("_", "-"), value)
    start = time.perf_counter()
    result = proc.run(cfg)
    seconds = time.perf_counter() - start
    status = result.index(0)
    error = None
    if status != Gimp.PDBStatusType.SUCCESS:
        error = PDB.get_last_error()
        if result.length() > 1 and isinstance(result.index(1), str):
            error = result.index(1) or error
    return {"status": status.value_nick, "error": error, "seconds": seconds}


def rect(w, h, x=0, y=0):
    return Gegl.Rectangle.new(x, y, w, h)


def dump(drawable, tag, fmt):
    """Write a drawable's pixels to OUT/tag in the given babl format."""
    w, h = drawable.get_width(), drawable.get_height()
    data = drawable.get_buffer().get(rect(w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE)
    with open(os.path.join(OUT, tag), "wb") as f:
        f.write(bytes(data))
    return tag


def dump_selection(image, tag):
    w, h = image.get_width(), image.get_height()
    data = image.get_selection().get_buffer().get(rect(w, h), 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    with open(os.path.join(OUT, tag), "wb") as f:
        f.write(bytes(data))
    return tag


def describe(layer, tag=None):
    _, x, y = layer.get_offsets()
    mask = layer.get_mask()
    info = {"name": layer.get_name(), "x": x, "y": y, "w": layer.get_width(), "h": layer.get_height(),
            "gray": layer.is_gray(), "has_mask": mask is not None, "id": layer.get_id()}
    if tag:
        info["pixels"] = dump(layer, tag + ".rgba", "R'G'B'A u8")
        if mask is not None:
            info["mask"] = dump(mask, tag + ".mask", "Y u8")
    return info


def stack(image, tag=None):
    """The image's top-level layers, top first; with a tag, every layer's pixels and mask are dumped."""
    return [describe(lay, tag and "%s-%d" % (tag, i)) for i, lay in enumerate(image.get_layers())]


def selected(image):
    return [lay.get_name() for lay in image.get_selected_layers()]


def pattern_layer(image, name, w, h, kind=Gimp.ImageType.RGBA_IMAGE, x=0, y=0):
    """A layer with a known gradient (R = x, G = y, B = 128) so placements can be checked exactly."""
    layer = Gimp.Layer.new(image, name, w, h, kind, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    layer.set_offsets(x, y)
    row_bytes = [bytes((i * 255 // max(1, w - 1), 0, 128, 255)) for i in range(w)]
    data = bytearray()
    for j in range(h):
        g = j * 255 // max(1, h - 1)
        for px in row_bytes:
            data += px[:1] + bytes((g,)) + px[2:]
    buf = layer.get_buffer()
    buf.set(rect(w, h), "R'G'B'A u8", bytes(data))
    buf.flush()
    layer.update(0, 0, w, h)
    return layer


def scenario(fn):
    """Run one scenario, keeping its outcome (or its traceback) in the report under its name."""
    try:
        REPORT[fn.__name__] = fn()
    except Exception:
        REPORT[fn.__name__] = {"exception": traceback.format_exc()}
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(REPORT, f)
    return fn
'''


def batch_script(session: GimpSession, body: str) -> str:
    return f"OUT = {session.inner_dir + '/out'!r}\n" + BATCH_PRELUDE + textwrap.dedent(body)


def scenario_result(report: dict, name: str) -> dict:
    """One scenario's outcome; a scenario that raised inside GIMP fails here with its traceback."""
    if name not in report:
        pytest.fail(f"scenario {name} did not run (GIMP stopped earlier?)", pytrace=False)
    result = report[name]
    if isinstance(result, dict) and "exception" in result:
        pytest.fail(f"scenario {name} raised inside GIMP:\n{result['exception']}", pytrace=False)
    return result
