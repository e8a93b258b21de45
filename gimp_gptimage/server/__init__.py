"""The local Images API server: the embedded offline backend and the test double for every client test."""

import logging

from .app import LATENCY_HEADER, create_app
from .engine import OpenCVEngine
from .engine_migan import MiganEngine, default_engine
from .engine_protocol import Engine
from .faults import Fault, FaultPlan
from .parsing import PROFILES
from .runner import BANNER, LocalServer, serve

# A library stays quiet unless its host configures logging (`serve` does); the CLI says what matters itself.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BANNER",
    "LATENCY_HEADER",
    "PROFILES",
    "Engine",
    "Fault",
    "FaultPlan",
    "LocalServer",
    "MiganEngine",
    "OpenCVEngine",
    "create_app",
    "default_engine",
    "serve",
]
