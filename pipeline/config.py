"""One config system for every stage: ``config/default.toml`` plus overrides.

``config/default.toml`` is the only home of every default. The one style,
used by every stage class (pipeline/*.py stages, pipeline/dedup's paragraph
and substring dedup, model/tokenizer.py's trainer) and every job:

* the class takes its section as **required keyword arguments**, with no
  default of its own: ``TextMetricFilter(**cfg.section("heuristics"))`` is
  what the jobs do (``cfg`` = ``load_config(--config)``);
* ``Configured.from_config(cfg=None, **overrides)`` builds one from its
  section (of ``cfg``, else of config/default.toml) with some keys replaced:
  ``TextMetricFilter.from_config(min_words=100)``.

Optional arguments default only to "absent" (``None``: e.g. a per-language
override of what a trained model stores), never to a number. Primitives that
are not a section (``MinHasher``: the banding keys of [dedup.minhash]) take
required keyword arguments too.

A user's ``--config FILE`` is a TOML file with the same sections; its values
replace the defaults key by key (nested tables merge recursively).
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

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

    def variant(self, dotted: str, name: str | None, keep: tuple[str, ...] = ()) -> dict[str, Any]:
        """A section with one of its nested tables laid over it: the tables
        of ``[dotted]`` not named in ``keep`` are its variants (a training
        ``[pretrain.<recipe>]``, a ``[tokenizer.<preset>]``); all are removed,
        and ``name``'s keys replace the section's. ``KeyError`` names the
        known variants when ``name`` is not one of them."""
        sec = self.section(dotted)
        variants = {k: sec.pop(k) for k in list(sec) if isinstance(sec[k], dict) and k not in keep}
        if name:
            if name not in variants:
                raise KeyError(f"no [{dotted}.{name}] table; known: {sorted(variants)}")
            sec.update(variants[name])
        return sec

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def load_config(path: str | Path | None = None) -> Config:
    """Load ``config/default.toml``, then ``path`` (if given) over it."""
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
    return Config(data, tuple(sources))


class Configured:
    """Mixin of every class configured by one section of the TOML.

    The section is ``config_section`` (default: the stage's ledger ``name``,
    which is its section name in config/default.toml).
    """

    config_section: ClassVar[str]

    @classmethod
    def section_name(cls) -> str:
        return getattr(cls, "config_section", None) or cls.name  # type: ignore[attr-defined]

    @classmethod
    def from_config(cls, cfg: Config | None = None, /, **overrides: Any):
        """An instance from its section of ``cfg`` (default: config/default.toml),
        with ``overrides`` replacing keys of it."""
        section = (cfg if cfg is not None else load_config()).section(cls.section_name())
        return cls(**{**section, **overrides})
