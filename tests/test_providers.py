"""Provider presets, base-URL safety and key lookup."""

from __future__ import annotations

import pytest

from gimp_gptimage.api import ConfigError, ImageParams
from gimp_gptimage.api.providers import (
    CRAZYROUTER,
    LOCAL,
    OPENAI,
    PRESETS,
    QUICKROUTER,
    check_base_url,
    custom,
    get_provider,
    is_loopback_host,
    key_from_env,
)


def test_presets_state_their_base_urls_and_result_styles() -> None:
    assert OPENAI.base_url == "https://api.openai.com/v1" and OPENAI.result_style == "b64_json"
    assert CRAZYROUTER.base_url == "https://cn.crazyrouter.com/v1" and CRAZYROUTER.result_style == "url"
    assert CRAZYROUTER.accepts_hd_quality and not OPENAI.accepts_hd_quality
    assert QUICKROUTER.base_url == "https://api.quickrouter.ai/v1" and QUICKROUTER.result_style == "url"
    assert dict(QUICKROUTER.field_renames) == {"output_format": "format"}
    assert LOCAL.base_url == ""
    assert set(PRESETS) == {"openai", "crazyrouter", "quickrouter", "local"}
    for preset in PRESETS.values():
        assert preset.label


def test_the_local_servers_simulated_providers_are_the_presets() -> None:
    from gimp_gptimage.server.parsing import PROFILES

    assert set(PROFILES) == {"openai", "crazyrouter", "quickrouter"}
    for name, profile in PROFILES.items():
        preset = PRESETS[name]
        assert (profile.result_style, profile.accepts_hd) == (preset.result_style, preset.accepts_hd_quality)
        assert {wire: field for field, wire in preset.field_renames.items()} == dict(profile.aliases)
    assert dict(PROFILES["quickrouter"].aliases) == {"format": "output_format"}


def test_quickrouter_renames_output_format_only() -> None:
    fields = ImageParams("p", output_format="jpeg", output_compression=50).to_fields()
    renamed = QUICKROUTER.rename_fields(fields)
    assert renamed["format"] == "jpeg" and "output_format" not in renamed
    assert renamed["output_compression"] == 50
    assert OPENAI.rename_fields(fields) == fields


def test_get_provider_is_case_insensitive_and_names_known_ones_when_unknown() -> None:
    assert get_provider(" OpenAI ") is OPENAI
    with pytest.raises(ConfigError, match=r"Unknown provider 'nope'\. Known providers: openai, crazyrouter"):
        get_provider("nope")


def test_local_gets_its_base_url_at_run_time() -> None:
    local = LOCAL.with_base_url("http://127.0.0.1:8765/v1/")
    assert local.base_url == "http://127.0.0.1:8765/v1" and local.name == "local"


def test_custom_provider() -> None:
    provider = custom("https://relay.example.com/v1/")
    assert provider.name == "custom" and provider.base_url == "https://relay.example.com/v1"
    assert provider.label == "relay.example.com" and provider.result_style == "b64_json"
    assert custom("http://10.0.0.5:8080/v1", allow_insecure=True).allow_insecure
    with pytest.raises(ConfigError, match="Refusing plain http://"):
        custom("http://10.0.0.5:8080/v1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://127.5.6.7/v1",
        "http://[::1]:9000/v1",
        "http://localhost:8000/v1",
        "http://LOCALHOST/v1",
        "http://api.localhost/v1",
        "https://api.openai.com/v1",
    ],
)
def test_allowed_base_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "The base URL is empty"),
        ("   ", "The base URL is empty"),
        ("http://api.example.com/v1", "Refusing plain http:// for api.example.com: the API key would travel"),
        ("http://192.168.1.10/v1", "Refusing plain http:// for 192.168.1.10"),
        ("http://128.0.0.1/v1", "Refusing plain http://"),
        ("ftp://api.example.com/v1", "must start with https://"),
        ("api.openai.com/v1", "must start with https://"),
        ("https:///v1", "has no host name"),
        ("https://user:sk-secret123456789@api.example.com/v1", "must not contain a user name or password"),
        ("https://api.example.com/v1?x=1", "must not contain '?' or '#'"),
        ("https://api.example.com:99999/v1", "is not a valid address"),
    ],
)
def test_refused_base_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_base_url(url)
    assert message in str(info.value)
    assert "sk-secret123456789" not in str(info.value)


def test_insecure_allowed_explicitly() -> None:
    assert check_base_url("http://relay.lan:8080/v1", allow_insecure=True) == "http://relay.lan:8080/v1"


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("[::1]")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("example.com")
    assert not is_loopback_host("localhost.example.com")


def test_key_from_env_prefers_project_variable() -> None:
    env = {"GPTIMAGE_API_KEY": " sk-project ", "OPENAI_API_KEY": "sk-openai"}
    assert key_from_env(env) == "sk-project"
    assert key_from_env({"OPENAI_API_KEY": "sk-openai"}) == "sk-openai"
    assert key_from_env({"GPTIMAGE_API_KEY": "  ", "OPENAI_API_KEY": "sk-openai"}) == "sk-openai"
    assert key_from_env({}) is None


def test_key_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPTIMAGE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-process")
    assert key_from_env() == "sk-from-process"


def test_provider_repr_and_str_carry_no_key() -> None:
    # Providers never hold a key at all: the key is passed to the client separately.
    assert "key" not in {f for f in OPENAI.__dataclass_fields__}
