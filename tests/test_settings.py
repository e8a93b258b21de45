"""Settings: JSON in the config folder, atomic, tolerant of damaged or newer files, never a key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gimp_gptimage.history import HistoryPolicy
from gimp_gptimage.jobs.context import context_options
from gimp_gptimage.pipeline import ContextOptions
from gimp_gptimage.settings import ProviderConfig, Settings, SettingsStore


def test_defaults_when_no_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    settings = store.load()
    assert store.problem is None
    assert settings.provider is None
    assert [p.name for p in settings.providers] == ["openai", "crazyrouter", "quickrouter"]
    assert settings.history.keeps_everything
    assert settings.defaults.stream is True


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    settings = Settings()
    settings.providers.append(ProviderConfig("mine", "https://relay.example/v1", "gpt-image-1.5"))
    settings.provider = "mine"
    settings.defaults.quality = "high"
    settings.defaults.n = 3
    settings.context.padding_px = 64
    settings.context.colour_match = False
    settings.language = "zh_CN"
    settings.history = HistoryPolicy(max_total_mb=500, max_age_days=None)
    settings.remember_prompt("Remove the spoon")
    settings.remember_prompt("Add a cat")
    settings.remember_prompt("Remove the spoon")
    store.save(settings)

    loaded = SettingsStore(tmp_path).load()
    assert loaded == settings
    assert loaded.recent_prompts == ["Remove the spoon", "Add a cat"]
    assert loaded.find_provider("MINE") == ProviderConfig("mine", "https://relay.example/v1", "gpt-image-1.5")
    assert context_options(loaded.context) == ContextOptions(padding_px=64, colour_match=False)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_recent_prompts_bounded(tmp_path: Path) -> None:
    settings = Settings()
    for i in range(50):
        settings.remember_prompt(f"prompt {i}")
    settings.remember_prompt("   ")
    assert len(settings.recent_prompts) == 20
    assert settings.recent_prompts[0] == "prompt 49"


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe garbage",
        b"[1, 2, 3]",
        json.dumps({"version": 99, "provider": "openai"}).encode(),
        json.dumps({"version": 1, "defaults": {"n": "three"}}).encode(),
        json.dumps({"version": 1, "providers": {"openai": 1}}).encode(),
        json.dumps({"version": 1, "providers": [{"base_url": "https://x"}]}).encode(),
    ],
)
def test_damaged_file_kept_as_backup_and_defaults_used(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "settings.json").write_bytes(content)
    store = SettingsStore(tmp_path)
    settings = store.load()
    assert settings == Settings()
    assert store.problem is not None and "defaults" in store.problem
    backups = [p for p in tmp_path.iterdir() if p.name.startswith("settings.json.bad-")]
    assert len(backups) == 1
    assert backups[0].read_bytes() == content
    assert backups[0].name in store.problem
    # Saving afterwards works and the next load is clean.
    store.save(settings)
    again = SettingsStore(tmp_path)
    assert again.load() == Settings()
    assert again.problem is None


def test_unknown_keys_ignored(tmp_path: Path) -> None:
    data = Settings().to_json()
    data["future_feature"] = {"x": 1}
    data["defaults"]["future_param"] = 5
    (tmp_path / "settings.json").write_text(json.dumps(data))
    store = SettingsStore(tmp_path)
    assert store.load() == Settings()
    assert store.problem is None


def test_key_like_text_never_saved(tmp_path: Path) -> None:
    settings = Settings()
    settings.remember_prompt("my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123")
    SettingsStore(tmp_path).save(settings)
    assert b"abcdefghijklmnopqrstuvwxyz0123" not in (tmp_path / "settings.json").read_bytes()


def test_default_location_is_user_config_dir() -> None:
    store = SettingsStore()
    assert str(store.path).startswith(os.environ["XDG_CONFIG_HOME"])
    assert store.path.parts[-2:] == ("gimp-gptimage", "settings.json")


def test_context_options_layer_run_choices_over_saved_over_the_pipeline_defaults() -> None:
    settings = Settings()
    assert context_options(settings.context) == ContextOptions()
    assert ContextOptions().blend_margin_px == 0  # unselected pixels stay bit-identical unless a user says so
    settings.context.grow_px = 30
    settings.context.blend_margin_px = 4
    chosen = context_options(settings.context, grow_px=None, feather_px=5, colour_match=False)
    assert (chosen.grow_px, chosen.feather_px, chosen.blend_margin_px, chosen.colour_match) == (30, 5, 4, False)
    assert chosen.padding_px == ContextOptions().padding_px


def test_provider_model_is_the_entry_then_the_preset() -> None:
    """The one rule CLI, batch worker and dialog use for "the provider's default model"."""
    from gimp_gptimage.api.providers import PRESETS, custom

    settings = Settings()
    assert settings.provider_model("openai") == PRESETS["openai"].default_model  # the default entry's
    assert settings.provider_model("local") == PRESETS["local"].default_model  # no entry: the preset's
    settings.providers.append(ProviderConfig("mine", "https://relay.example/v1", "gpt-image-1.5"))
    assert settings.provider_model("Mine") == "gpt-image-1.5"
    settings.providers.append(ProviderConfig("blank", "https://relay.example/v1", ""))
    assert settings.provider_model("blank") == ""  # neither names one: the caller's own fallback
    relay = custom("https://relay.example/v1")
    assert settings.provider_model("blank", relay) == relay.default_model
    crazy = next(p for p in settings.providers if p.name == "crazyrouter")
    crazy.model = ""  # an entry left empty falls back to its preset
    assert settings.provider_model("crazyrouter") == PRESETS["crazyrouter"].default_model
