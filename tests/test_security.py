"""The API key stays secret, connections stay verified, and result links cannot be turned against the user.

The central test runs full edits from key entry (the keychain) through the command line and the GIMP
job-folder path (in-process and as the real worker process, as the plug-in starts it) to inserted results,
then searches every file the product wrote and every line it printed or logged for the key.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import importlib
import io
import json
import logging
import pkgutil
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TempHome
from faults_helpers import (
    CannedHTTPServer,
    CannedRequest,
    LeakCheck,
    RecordedServer,
    params_for,
    private_tempdir,
    run_job,
)
from jobs_samples import COFFEE, SPOON, write_spoon_job
from PIL import Image

import gimp_gptimage
from gimp_gptimage import keystore
from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.errors import APIStatusError, ConfigError, ResultError, explain
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.providers import check_base_url, custom
from gimp_gptimage.cli.main import main as cli_main
from gimp_gptimage.server import Fault
from gimp_gptimage.settings import ProviderConfig, Settings, SettingsStore

pytest_plugins = ["conftest_jobs", "conftest_faults"]

PLUGIN_DIR = Path(gimp_gptimage.__file__).parent / "plugin" / "gptimage"
sys.path.insert(0, str(PLUGIN_DIR))
import gptimage_ipc as ipc  # noqa: E402

# Not shaped like "sk-...": a relay's key can be any string, so only real care keeps it out, not a regex.
SECRET = "relay" + secrets.token_hex(20)


def encodings_of(secret: str) -> list[bytes]:
    """Every way the key could be written down: as is, UTF-16, and base64 at each alignment."""
    raw = secret.encode()
    forms = [raw, secret.encode("utf-16-le")]
    for pad in (b"", b"x", b"xx"):
        encoded = base64.b64encode(pad + raw)
        forms.append(encoded[4:-4])  # the part that does not depend on the neighbouring bytes
        forms.append(base64.urlsafe_b64encode(pad + raw)[4:-4])
    return forms


def files_containing(root: Path, secret: str) -> list[str]:
    forms = encodings_of(secret)
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(form in data for form in forms):
                found.append(str(path.relative_to(root)))
    return found


def text_contains(text: str, secret: str) -> bool:
    return any(form.decode("latin-1") in text for form in encodings_of(secret))


# -- the whole path, from key entry to inserted layers ---------------------------------------------------------


@pytest.fixture
def secret_relay() -> Iterator[RecordedServer]:
    """A relay (download links) that accepts only SECRET, recording every request's headers."""
    recorded = RecordedServer(profile="crazyrouter", api_key=SECRET)
    recorded.server.start()
    yield recorded
    recorded.server.stop()


@pytest.fixture
def user_home(temp_home: TempHome, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary home, as the working folder too."""
    monkeypatch.chdir(temp_home.root)
    return temp_home.root


def insert_all(job_dir: Path) -> list[ipc.OutboxResult]:
    """What the plug-in does with a finished job: read the outbox and done.json."""
    results = ipc.OutboxReader(job_dir).new_results()
    done = ipc.read_done(job_dir)
    assert done == {"ok": True}, done
    return results


def test_key_from_keychain_to_inserted_layers_leaves_no_trace(
    secret_relay: RecordedServer,
    user_home: Path,
    memory_keyring,  # type: ignore[no-untyped-def]
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything any library would log, httpx and httpcore included
    with private_tempdir(user_home / "tmp") as tmp:
        leaks = LeakCheck(tmp).start()

        # 1. Key entry and provider choice, as the settings dialog stores them.
        keystore.set_key("crazyrouter", SECRET)
        settings = Settings(provider="crazyrouter")
        settings.providers = [
            ProviderConfig(p.name, secret_relay.base_url) if p.name == "crazyrouter" else p for p in settings.providers
        ]
        SettingsStore().save(settings)

        # 2. The command line: a retry (logged), then two results downloaded from the relay's links.
        secret_relay.faults.add(Fault("status", status=429, retry_after=0))
        shutil_copy(COFFEE, user_home / COFFEE.name)
        shutil_copy(SPOON, user_home / SPOON.name)
        args = ["edit", COFFEE.name, "--selection", SPOON.name, "--prompt", "Remove the spoon", "-n", "2"]
        assert cli_main([*args, "--out", "out", "--json"]) == 0
        summary = json.loads(capfd.readouterr().out)
        assert [r["index"] for r in summary["results"]] == [0, 1]

        # 3. A failure whose answer echoes the key back (some relays do): scrubbed everywhere.
        secret_relay.faults.add(Fault("status", status=401, message=f"Invalid token {SECRET} for Bearer {SECRET}"))
        assert cli_main(["generate", "--prompt", "a fox", "--out", "out"]) == 1

        # 4. The GIMP path in-process: job folder -> headless worker -> outbox -> inserted.
        from gimp_gptimage import worker

        job_dir = ipc.create_job_dir()
        assert job_dir.parent == tmp
        write_spoon_job(job_dir)
        assert worker.run(job_dir) == 0
        (inserted,) = insert_all(job_dir)
        assert (inserted.width, inserted.height) != (0, 0) and inserted.history_id

        # 5. The GIMP path as the plug-in really runs it: a separate worker process writing worker.log,
        # with the key from the environment (the other documented source).
        monkeypatch.setenv("GPTIMAGE_API_KEY", SECRET)
        process_job = ipc.create_job_dir()
        write_spoon_job(process_job)
        proc = ipc.start_worker(sys.executable, process_job)
        inserted_by_process: list[ipc.OutboxResult] = []
        ipc.wait_for_job(proc, process_job, inserted_by_process.append, lambda progress: None, interval=0.05)
        assert proc.wait(30) == 0 and len(inserted_by_process) == 1
        assert (process_job / ipc.WORKER_LOG).exists()

        # Everything the product wrote, before the plug-in removes its job folders.
        output = capfd.readouterr()
        written = files_containing(user_home, SECRET)
        assert written == [], f"the key was written to {written}"
        assert not text_contains(output.out + output.err, SECRET)
        assert not text_contains(caplog.text, SECRET)

        # What was written does include the history of all four requests and the settings.
        history = sorted((user_home / "data" / "gimp-gptimage" / "history").iterdir())
        assert len(history) == 4
        assert (user_home / "config" / "gimp-gptimage" / "settings.json").is_file()

        ipc.remove_job_dir(job_dir)
        ipc.remove_job_dir(process_job)
        leaks.threads |= {t for t in leaks.new_threads() if t.startswith("AnyIO worker thread")}
        leaks.assert_clean()

    # The key went only to the API, in the Authorization header; never to the download links.
    api_calls = secret_relay.recorder.paths("/v1/images/")
    downloads = secret_relay.recorder.paths("/v1/files/results/")
    assert len(api_calls) == 5  # a 429 and its retry, the 401, two worker runs (streamed: no links)
    assert len(downloads) == 2  # the command line's two results
    assert all(h["authorization"] == f"Bearer {SECRET}" for h in api_calls)
    for headers in downloads:
        assert "authorization" not in headers
        assert not any(SECRET in value for value in headers.values())
    for headers in api_calls:
        assert [k for k, v in headers.items() if SECRET in v] == ["authorization"]


def shutil_copy(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


# -- the key and other hosts -------------------------------------------------------------------------------------


def _png(size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _noise_png() -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 64), secrets.token_bytes(64 * 64 * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _images_answer(*urls: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"created": 1, "data": [{"url": url} for url in urls]}).encode()
    return 200, {"content-type": "application/json", "x-request-id": "req_canned"}, body


async def _generate(base_url: str, **client_kwargs: object):  # type: ignore[no-untyped-def]
    async with ImagesClient(base_url=base_url, api_key=SECRET, max_retries=0, **client_kwargs) as client:  # type: ignore[arg-type]
        return await client.generate(params=ImageParams(prompt="x"))


async def test_download_host_and_its_redirects_never_see_the_key() -> None:
    png = _png()
    with (
        CannedHTTPServer(lambda r: (200, {"content-type": "image/png"}, png)) as final_host,
        CannedHTTPServer(lambda r: (302, {"location": final_host.root + "/final.png"}, b"")) as cdn,
        CannedHTTPServer(lambda r: _images_answer(cdn.root + "/link.png")) as api,
    ):
        response = await _generate(api.base_url)
    assert response.images[0].data == png
    assert api.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    for host in (cdn, final_host):
        (request,) = host.requests
        assert "authorization" not in request.headers
        assert SECRET not in json.dumps(request.headers)


async def test_api_redirects_are_not_followed_with_the_key() -> None:
    with (
        CannedHTTPServer(lambda r: (200, {}, b"{}")) as elsewhere,
        CannedHTTPServer(lambda r: (307, {"location": elsewhere.base_url + "/images/generations"}, b"")) as api,
        pytest.raises(APIStatusError, match="redirected") as info,
    ):
        await _generate(api.base_url)
    assert elsewhere.requests == []
    message = explain(info.value)
    assert message.title == "The provider's address redirects elsewhere" and "base URL" in message.hint


# -- plain http and TLS verification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.openai.com/v1",
        "http://10.0.0.5:8080/v1",
        "http://192.168.1.20/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://localhost.evil.example/v1",
        "http://[::ffff:7f00:1]/v1",
    ],
)
def test_plain_http_to_another_computer_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="unencrypted"):
        check_base_url(url)
    with pytest.raises(ConfigError, match="unencrypted"):
        ImagesClient(base_url=url, api_key=SECRET)
    assert check_base_url(url, allow_insecure=True) == url  # only when the user explicitly allows it
    assert custom(url, allow_insecure=True).base_url == url


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v1", "http://127.8.9.10/v1", "http://localhost:1/v1", "http://[::1]:9/v1"]
)
def test_plain_http_to_this_computer_is_allowed(url: str) -> None:
    assert check_base_url(url) == url


@pytest.mark.parametrize("url", ["ftp://api.example.com/v1", "file:///etc/passwd", "api.openai.com/v1"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="https://"):
        check_base_url(url)


@pytest.mark.parametrize(
    "template",
    [
        "https://api.example.com/v1?key={key}",
        "https://user:{key}@api.example.com/v1",
        "https://{key}@api.example.com/v1",
        "https://api.example.com/v1#{key}",
        "ftp://files.example.com/?token={key}",
        "{key}@api.example.com/v1",
    ],
)
def test_a_key_pasted_into_the_base_url_is_refused_without_echoing_it(template: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_base_url(template.format(key=SECRET))
    assert SECRET not in str(info.value) and SECRET not in explain(info.value).one_line()


@pytest.mark.parametrize(
    "url", ["https://api.open ai.com/v1", "https://\tapi.openai.com/v1", "https://api.openai.com/v1\x00"]
)
def test_a_base_url_with_invisible_characters_is_refused_clearly(url: str) -> None:
    with pytest.raises(ConfigError, match="spaces or invisible characters"):
        ImagesClient(base_url=url, api_key=SECRET)


async def test_a_result_link_that_is_not_a_valid_address_is_a_result_error() -> None:
    with (
        CannedHTTPServer(lambda r: _images_answer("https://cdn.example.com/\x01result.png")) as api,
        pytest.raises(ResultError, match="not a valid address"),
    ):
        await _generate(api.base_url)


def test_insecure_needs_the_users_setting(memory_keyring) -> None:  # type: ignore[no-untyped-def]
    keystore.set_key("lan", SECRET)
    plain = Settings(providers=[ProviderConfig("lan", "http://192.168.1.20:8000/v1")], provider="lan")
    with pytest.raises(ConfigError, match="unencrypted"):
        keystore.resolve_backend(plain)
    allowed = dataclasses.replace(plain, providers=[ProviderConfig("lan", "http://192.168.1.20:8000/v1", "", True)])
    backend = keystore.resolve_backend(allowed)
    assert backend is not None and backend.base_url == "http://192.168.1.20:8000/v1"


_UNVERIFIED = re.compile(
    r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context|"
    r"PYTHONHTTPSVERIFY|verify\s*=\s*(?!True\b)[a-z_]*insecure",
    re.IGNORECASE,
)


def test_no_code_path_switches_certificate_checks_off() -> None:
    root = Path(gimp_gptimage.__file__).parent.parent
    offenders = []
    for folder in ("gimp_gptimage", "qt_ui"):
        for path in (root / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _UNVERIFIED.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


# -- url results -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "data:image/png;base64," + base64.b64encode(_png()).decode(),
        "ftp://127.0.0.1/result.png",
        "javascript:alert(1)",
    ],
    ids=["file", "data", "ftp", "javascript"],
)
async def test_result_links_must_be_http(link: str) -> None:
    with (
        CannedHTTPServer(lambda r: _images_answer(link)) as api,
        pytest.raises(ResultError, match=r"not an http\(s\) address"),
    ):
        await _generate(api.base_url)


async def test_a_download_redirected_to_a_local_file_is_refused() -> None:
    with (
        CannedHTTPServer(lambda r: (302, {"location": "file:///etc/passwd"}, b"")) as cdn,
        CannedHTTPServer(lambda r: _images_answer(cdn.root + "/x.png")) as api,
        pytest.raises(ResultError, match="could not be downloaded"),
    ):
        await _generate(api.base_url)


async def test_downloads_are_size_capped_even_when_compressed() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), 9)  # 20 MB of zeros in ~20 KB
    assert len(bomb) < 100_000

    def answer(request: CannedRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "image/png", "content-encoding": "gzip"}, bomb

    with (
        CannedHTTPServer(answer) as cdn,
        CannedHTTPServer(lambda r: _images_answer(cdn.root + "/x.png")) as api,
        pytest.raises(ResultError, match="larger than the download limit"),
    ):
        await _generate(api.base_url, download_limit_bytes=1024 * 1024)


async def test_declared_oversize_download_is_not_read(relay) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ResultError, match="larger than the download limit"):
        await _generate(relay.base_url, download_limit_bytes=10_000)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"\x00\x01\x02 not an image at all", "not a readable image"),
        (_noise_png()[:2000], "not a readable image"),
        (b"<!doctype html><title>Login required</title>", "web page ('Login required')"),
    ],
    ids=["bytes", "truncated-png", "html"],
)
async def test_downloads_must_decode_as_images(body: bytes, needle: str) -> None:
    with (
        CannedHTTPServer(lambda r: (200, {"content-type": "image/png"}, body)) as cdn,
        CannedHTTPServer(lambda r: _images_answer(cdn.root + "/x.png")) as api,
        pytest.raises(ResultError) as info,
    ):
        await _generate(api.base_url)
    assert needle in str(info.value)


async def test_a_bomb_inside_the_answer_is_refused_too() -> None:
    from gimp_gptimage.server.imaging import decompression_bomb_png

    body = json.dumps({"data": [{"b64_json": base64.b64encode(decompression_bomb_png()).decode()}]}).encode()
    with (
        CannedHTTPServer(lambda r: (200, {"content-type": "application/json"}, body)) as api,
        pytest.raises(ResultError, match="decompression bomb"),
    ):
        await _generate(api.base_url)


def test_pillows_decompression_bomb_limit_stays_on(relay, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Importing every product module leaves Pillow's limit as shipped, and a bomb link is refused."""
    default = Image.MAX_IMAGE_PIXELS
    assert default is not None and default == 1024 * 1024 * 1024 // 4 // 3
    package_root = Path(gimp_gptimage.__file__).parent.parent
    for package in ("gimp_gptimage", "qt_ui"):
        for module in pkgutil.walk_packages([str(package_root / package)], prefix=f"{package}."):
            if ".plugin." in module.name or module.name.endswith("__main__"):
                continue  # the GIMP side needs `gi`; __main__ modules run the program
            importlib.import_module(module.name)
    assert default == Image.MAX_IMAGE_PIXELS
    relay.faults.add(Fault("result_bomb"))
    outcome = run_job(relay.base_url, "generate", tmp_path, params=params_for("generate"))
    assert isinstance(outcome.error, ResultError) and "decompression bomb" in outcome.line
