"""The local Images API server: the embedded offline backend and the test double for every client test."""

from .app import LATENCY_HEADER, create_app
from .engine import OfflineEngine
from .faults import Fault, FaultPlan
from .parsing import PROFILES
from .runner import BANNER, LocalServer, add_serve_arguments, fault_specs, run_from_args, serve

__all__ = [
    "BANNER",
    "LATENCY_HEADER",
    "PROFILES",
    "Fault",
    "FaultPlan",
    "LocalServer",
    "OfflineEngine",
    "add_serve_arguments",
    "create_app",
    "fault_specs",
    "run_from_args",
    "serve",
]
