"""The downloaded inputs: Debian packages (read through dpkg-deb) and PyPI files."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


DEB_PACKAGES = ("fortunes", "fortunes-min", "fortunes-zh", "python3.11-doc",
                "debian-reference-zh-cn", "manpages-zh")
PYPI_FILES = {"trafilatura": "trafilatura-*.tar.gz", "gensim": "gensim-*.whl",
              "chatterbot-corpus": "chatterbot_corpus-*.whl"}


class DebPackage:
    """The files of one downloaded .deb, read through `dpkg-deb --fsys-tarfile`."""

    def __init__(self, path: Path):
        self.path = path
        name, version, _ = path.name[:-4].split("_")
        self.name, self.version = name, version.replace("%3a", ":")
        tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)],
                                   check=True, capture_output=True).stdout
        self.files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    self.files[m.name.lstrip("./")] = tf.extractfile(m).read()

    def glob(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix) and p.endswith(suffix))

    def copyright(self) -> str:
        return self.files[f"usr/share/doc/{self.name}/copyright"].decode("utf-8", "replace")


def find_one(folder: Path, pattern: str) -> Path:
    hits = sorted(folder.glob(pattern))
    if len(hits) != 1:
        raise SystemExit(f"expected exactly one {pattern} in {folder}, found {len(hits)}: "
                         f"run `make sample` (it downloads the sources)")
    return hits[0]


def load_sources(src: Path) -> tuple[dict[str, DebPackage], dict[str, Path]]:
    """The Debian packages and PyPI files under ``src`` (deb/, pypi/)."""
    debs = {name: DebPackage(find_one(src / "deb", f"{name}_*.deb")) for name in DEB_PACKAGES}
    pypi = {k: find_one(src / "pypi", v) for k, v in PYPI_FILES.items()}
    print(f"[sample] sources: {', '.join(f'{d.name} {d.version}' for d in debs.values())}, "
          + ", ".join(p.name for p in pypi.values()), flush=True)
    return debs, pypi
