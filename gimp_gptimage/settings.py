"""Non-secret settings, kept as JSON in the user's config folder (platformdirs).

Providers, the chosen provider, default parameters, context options, language, history policy and recent
prompts. The API key is never here: it lives in the OS keychain (see keystore.py). A corrupt or
newer-version file is kept as a backup and the defaults are used, with `SettingsStore.problem` saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .api.models import migrate_model, model_spec
from .api.params import (
    DEFAULT_MODEL,
    Background,
    Complexity,
    InputFidelity,
    Moderation,
    OutputFormat,
    Quality,
)
from .api.providers import PRESETS, Provider
from .api.timeouts import Timeouts
from .atomic import atomic_write_json
from .history import HistoryPolicy, scrub

SETTINGS_VERSION = 1
SETTINGS_FILE = "settings.json"
MAX_RECENT_PROMPTS = 20


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir("gimp-gptimage", appauthor=False))


@dataclass
class ProviderConfig:
    """A provider the user can pick: a preset's name or a custom endpoint."""

    name: str
    base_url: str
    model: str = DEFAULT_MODEL
    allow_insecure: bool = False  # plain http:// to a non-loopback host, only when the user says so


@dataclass
class ParamDefaults:
    """Defaults for a new request; None means "leave it to the provider"."""

    model: str = ""  # empty: the provider's default model
    size: str = "auto"
    quality: Quality = "auto"
    n: int = 1
    background: Background | None = None
    output_format: OutputFormat | None = None
    output_compression: int | None = None
    input_fidelity: InputFidelity | None = None
    complexity: Complexity | None = None  # 2.6 only; None: the model's own default
    moderation: Moderation | None = None
    stream: bool = True
    partial_images: int | None = 2


@dataclass
class ContextDefaults:
    """Saved choices for pipeline.ContextOptions (same field names); None keeps the pipeline's own default.
    jobs.context.context_options is the one place these become options, for every front end."""

    mode: str | None = None
    padding_px: int | None = None
    grow_px: int | None = None
    feather_px: int | None = None
    blend_margin_px: int | None = None
    colour_match: bool | None = None


@dataclass
class TimeoutDefaults:
    """Saved time limits in seconds (api.timeouts.Timeouts' names); None keeps the client's own default.
    `timeouts()` is the one place these become the client's limits, for every front end."""

    read: float | None = None  # the wait for an answer, and between the events of a stream
    stall: float | None = None  # an answer that has begun and stops arriving

    def __post_init__(self) -> None:
        for name in ("read", "stall"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"TimeoutDefaults.{name} must be a positive number of seconds")

    def timeouts(self, *, read: float | None = None, stall: float | None = None) -> Timeouts:
        """The client's limits: this run's choices (the CLI's options) over the saved ones over the defaults."""
        chosen = {"read": read or self.read, "stall": stall or self.stall}
        return Timeouts(**{name: value for name, value in chosen.items() if value})


@dataclass
class CostLimits:
    """A run beyond either limit asks once before it is sent (the dialog); None: no amount limit."""

    ask_above_images: int = 4
    ask_above_dollars: float | None = 1.00


def default_providers() -> list[ProviderConfig]:
    return [ProviderConfig(p.name, p.base_url, p.default_model) for p in PRESETS.values() if p.name != "local"]


@dataclass
class Settings:
    providers: list[ProviderConfig] = field(default_factory=default_providers)
    provider: str | None = None  # None: nothing chosen yet, use the embedded offline engine
    defaults: ParamDefaults = field(default_factory=ParamDefaults)
    context: ContextDefaults = field(default_factory=ContextDefaults)
    language: str | None = None  # None: follow the system locale
    history: HistoryPolicy = field(default_factory=HistoryPolicy)
    cost: CostLimits = field(default_factory=CostLimits)
    timeouts: TimeoutDefaults = field(default_factory=TimeoutDefaults)
    recent_prompts: list[str] = field(default_factory=list)
    unfolded: list[str] = field(default_factory=list)  # the dialog's "More" sections left open

    def find_provider(self, name: str) -> ProviderConfig | None:
        wanted = name.strip().lower()
        return next((p for p in self.providers if p.name.lower() == wanted), None)

    def provider_model(self, name: str, preset: Provider | None = None) -> str:
        """The model a provider's requests use when none is chosen: the user's entry for it, else `preset`'s
        (by default the built-in preset of that name); "" when neither names one."""
        entry = self.find_provider(name)
        preset = preset or PRESETS.get(name.strip().lower())
        return (entry.model if entry else "") or (preset.default_model if preset else "")

    def remember_prompt(self, prompt: str) -> None:
        """Put prompt first in the recent list (no duplicates, bounded)."""
        prompt = prompt.strip()
        if not prompt:
            return
        self.recent_prompts = [prompt, *(p for p in self.recent_prompts if p != prompt)][:MAX_RECENT_PROMPTS]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["version"] = SETTINGS_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """Build settings from a parsed file; unknown keys are ignored, wrong types raise ValueError."""
        base = cls()
        providers = base.providers
        if "providers" in data:
            providers = [_build(ProviderConfig, p) for p in _as_list(data["providers"], "providers")]
        provider = data.get("provider")
        if provider is not None and not isinstance(provider, str):
            raise ValueError("'provider' must be a name or null")
        language = data.get("language")
        if language is not None and not isinstance(language, str):
            raise ValueError("'language' must be a string or null")
        prompts = [p for p in _as_list(data.get("recent_prompts", []), "recent_prompts") if isinstance(p, str)]
        unfolded = [s for s in _as_list(data.get("unfolded", []), "unfolded") if isinstance(s, str)]
        return cls(
            providers=providers,
            provider=provider or None,
            defaults=_build(ParamDefaults, data.get("defaults", {})),
            context=_build(ContextDefaults, data.get("context", {})),
            language=language or None,
            history=_build(HistoryPolicy, data.get("history", {})),
            cost=_build(CostLimits, data.get("cost", {})),
            timeouts=_build(TimeoutDefaults, data.get("timeouts", {})),
            recent_prompts=prompts[:MAX_RECENT_PROMPTS],
            unfolded=unfolded,
        )


def _as_list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list")
    return value


def _build(kind: type, data: object) -> Any:
    """A dataclass from a dict, ignoring unknown keys and checking each known value's type."""
    if not isinstance(data, dict):
        raise ValueError(f"{kind.__name__} must be an object")
    defaults = kind() if kind is not ProviderConfig else None
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.name not in data:
            continue
        value = data[f.name]
        expected = getattr(defaults, f.name, None) if defaults is not None else None
        if not _type_ok(value, f.type, expected):
            raise ValueError(f"{kind.__name__}.{f.name} has the wrong type ({type(value).__name__})")
        values[f.name] = value
    try:
        return kind(**values)
    except TypeError as exc:  # a required field (e.g. a provider's name) is missing
        raise ValueError(f"{kind.__name__} is incomplete ({exc})") from None


def _type_ok(value: object, annotation: object, default: object) -> bool:
    text = str(annotation)
    if value is None:
        return "None" in text
    if "bool" in text:
        return isinstance(value, bool) or ("int" in text and isinstance(value, int))
    if "float" in text:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if "int" in text:
        return isinstance(value, int) and not isinstance(value, bool)
    if "str" in text:
        return isinstance(value, str)
    return default is None or isinstance(value, type(default))


def migrate(settings: Settings) -> list[str]:
    """Replace models that were shut down by their successors, in place; one notice per change."""
    notices: list[str] = []
    for provider in settings.providers:
        provider.model, notice = migrate_model(provider.model)
        if notice:
            notices.append(f"{notice} (provider {provider.name})")
    defaults = settings.defaults
    if defaults.model:
        defaults.model, notice = migrate_model(defaults.model)
        if notice:
            spec = model_spec(defaults.model)
            if defaults.input_fidelity and spec is not None and defaults.input_fidelity not in spec.input_fidelity:
                defaults.input_fidelity = None
                notice += f" Input fidelity is left to {defaults.model}."
            notices.append(notice)
    return notices


class SettingsStore:
    """Loads and saves settings.json; `problem` explains any file it could not use, `notices` what loading
    changed (a shut-down model replaced, say: saved again at the next save)."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.dir = Path(config_dir) if config_dir is not None else default_config_dir()
        self.path = self.dir / SETTINGS_FILE
        self.problem: str | None = None
        self.notices: list[str] = []

    def load(self) -> Settings:
        self.problem = None
        self.notices = []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Settings()
        except OSError as exc:
            self.problem = f"Could not read the settings file {self.path} ({exc.strerror}); using defaults."
            return Settings()
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the file is not a JSON object")
            version = data.get("version", SETTINGS_VERSION)
            if version != SETTINGS_VERSION:
                raise ValueError(f"it has version {version!r}, this program reads version {SETTINGS_VERSION}")
            settings = Settings.from_json(data)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
            backup = self._backup()
            self.problem = (
                f"The settings file could not be used ({_short(exc)}); it was kept as {backup.name} and the "
                "defaults are in use."
            )
            return Settings()
        self.notices = migrate(settings)
        if self.notices:  # written back at once, so each notice is told once
            with contextlib.suppress(OSError):
                self.save(settings)
        return settings

    def save(self, settings: Settings) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, scrub(settings.to_json()))

    def _backup(self) -> Path:
        backup = self.path.with_name(f"{SETTINGS_FILE}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while backup.exists():
            backup = backup.with_name(f"{SETTINGS_FILE}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
            n += 1
        self.path.replace(backup)
        return backup


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."


def load_settings(config_dir: Path | None = None) -> Settings:
    return SettingsStore(config_dir).load()
