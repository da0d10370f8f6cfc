"""Quality methods by name.

Each method module registers a factory with ``@register("name")``; factories
run lazily so that a heavy model loads only when asked for, once.
"""

from __future__ import annotations

import importlib
from typing import Callable

from sealshot.errors import InputError
from sealshot.quality.base import QualityMethod

_FACTORIES: dict[str, Callable[[], QualityMethod]] = {}
_INSTANCES: dict[str, QualityMethod] = {}
_DESCRIPTIONS: dict[str, str] = {}

# Modules imported on first use of the registry; each registers its methods.
_METHOD_MODULES = [
    "sealshot.quality.sharpness",
    "sealshot.quality.size",
    "sealshot.quality.confidence",
    "sealshot.quality.combined",
    "sealshot.quality.serfiq",
    "sealshot.quality.eqface",
    "sealshot.quality.uncertainty",
    "sealshot.quality.vae",
    "sealshot.quality.distilled",
]

DEFAULT_METHOD = "cr-distilled"
"""`run`'s and `serve`'s method: chosen on the cross-quality benchmark (README, "A harder test"); `vae` is the paper's."""


class UnknownQualityMethod(InputError):
    """No quality method of that name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown quality method {name!r}; available: {', '.join(available())}")
        self.name = name


def register(name: str, description: str = "") -> Callable[[Callable[[], QualityMethod]], Callable[[], QualityMethod]]:
    def decorator(factory: Callable[[], QualityMethod]) -> Callable[[], QualityMethod]:
        _FACTORIES[name] = factory
        _DESCRIPTIONS[name] = description
        return factory

    return decorator


def _load_modules() -> None:
    for module in _METHOD_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            # A method whose optional dependency (extra) is missing is simply not offered.
            if error.name == module:
                raise


def available() -> list[str]:
    _load_modules()
    return sorted(_FACTORIES)


def describe(name: str) -> str:
    _load_modules()
    return _DESCRIPTIONS.get(name, "")


def get_quality(name: str) -> QualityMethod:
    _load_modules()
    if name not in _FACTORIES:
        raise UnknownQualityMethod(name)
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]
