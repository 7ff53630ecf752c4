"""One config system for every stage: ``config/default.toml`` plus overrides.

Each stage reads its own section (``cfg.section("heuristics")``) and passes it
as keyword arguments to its class, so a stage's thresholds are documented
twice: as typed arguments in the class, and with their source in the TOML.

A user's ``--config FILE`` is a TOML file with the same sections; its values
replace the defaults key by key (nested tables merge recursively).
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "default.toml"


def _merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Config:
    """The merged configuration: a nested dict with section access."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def section(self, dotted: str) -> dict[str, Any]:
        """Return a copy of a section, e.g. ``"dedup.minhash"``; ``{}`` if absent."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return {}
            node = node[part]
        if not isinstance(node, dict):
            raise TypeError(f"config key {dotted!r} is a value, not a section")
        return copy.deepcopy(node)

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def with_overrides(self, override: Mapping) -> "Config":
        return Config(_merge(self.data, override), self.sources + ("<overrides>",))

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


def load_config(path: str | Path | None = None, overrides: Mapping | None = None) -> Config:
    """Load ``config/default.toml``, then ``path`` (if given), then ``overrides``."""
    with open(DEFAULT_CONFIG, "rb") as fh:
        data = tomllib.load(fh)
    sources = [str(DEFAULT_CONFIG)]
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        with open(path, "rb") as fh:
            data = _merge(data, tomllib.load(fh))
        sources.append(str(path))
    cfg = Config(data, tuple(sources))
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return cfg
