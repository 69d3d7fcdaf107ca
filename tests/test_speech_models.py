"""`fetch` against a real HTTP server on 127.0.0.1 serving zips built here; `verify`; `resolve`."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from speech import models
from speech.cli import main as speech_main
from speech.errors import ModelMissingError
from speech.models import FetchError, KnownModel
from tests.speech_voices import korean_model


def model_zip(name: str = "vosk-model-tiny-xx-0.1", stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as bundle:
        bundle.writestr(f"{name}/am/final.mdl", b"acoustic model " * 200)
        bundle.writestr(f"{name}/conf/model.conf", "--beam=10.0\n")
        bundle.writestr(f"{name}/graph/words.txt", "<eps> 0\n[unk] 1\nstack 2\n")
    return buffer.getvalue()


class Served:
    """What the server answers: path -> (body, Content-Length to claim)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, int]] = {}
        self.base = ""


@pytest.fixture
def server() -> Iterator[Served]:
    served = Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in served.files:
                self.send_error(404)
                return
            body, claimed = served.files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(claimed))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served
    httpd.shutdown()
    httpd.server_close()


def entry(served: Served, path: str, body: bytes, claimed: int | None = None) -> KnownModel:
    served.files[path] = (body, len(body) if claimed is None else claimed)
    return KnownModel(
        name="vosk-model-tiny-xx-0.1",
        language="xx",
        url=served.base + path,
        size=None,
        sha256=hashlib.sha256(model_zip()).hexdigest(),
    )


def test_fetch_unpacks_a_good_download_into_place_and_verify_approves(
    server: Served, tmp_path: Path
) -> None:
    seen: list[tuple[int, int | None]] = []
    model = entry(server, "/good.zip", model_zip())
    path = models.fetch(model, tmp_path, progress=lambda got, total: seen.append((got, total)))
    assert path == tmp_path / model.name
    assert (path / "am" / "final.mdl").read_bytes() == b"acoustic model " * 200
    assert seen[-1] == (len(model_zip()), len(model_zip()))
    assert [p.name for p in tmp_path.iterdir()] == [model.name]  # no scratch left behind
    verdict = models.verify(path)
    assert verdict.ok and "all 3 files match" in verdict.text


def test_fetch_refuses_a_download_whose_checksum_differs(server: Served, tmp_path: Path) -> None:
    corrupt = bytearray(model_zip())
    corrupt[len(corrupt) // 2] ^= 0xFF
    model = entry(server, "/corrupt.zip", bytes(corrupt))
    with pytest.raises(FetchError, match="does not match its published SHA-256"):
        models.fetch(model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_refuses_a_download_that_stopped_early(server: Served, tmp_path: Path) -> None:
    whole = model_zip()
    model = entry(server, "/truncated.zip", whole[: len(whole) // 2], claimed=len(whole))
    with pytest.raises(FetchError, match="nothing was installed"):
        models.fetch(model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_without_a_published_checksum_needs_consent_then_checks_the_zip(
    server: Served, tmp_path: Path
) -> None:
    model = entry(server, "/unpinned.zip", model_zip())
    unpinned = KnownModel(model.name, model.language, model.url, None, None)
    with pytest.raises(FetchError, match="--accept-unpinned"):
        models.fetch(unpinned, tmp_path)
    assert models.fetch(unpinned, tmp_path, accept_unpinned=True).is_dir()

    corrupt = bytearray(model_zip(stored=True))
    corrupt[corrupt.index(b"acoustic model") + 3] ^= 0xFF  # the zip's own CRC catches it
    other = KnownModel("vosk-model-other", "xx", server.base + "/bad.zip", None, None)
    server.files["/bad.zip"] = (bytes(corrupt), len(corrupt))
    with pytest.raises(FetchError, match="nothing was installed"):
        models.fetch(other, tmp_path, accept_unpinned=True)
    assert not (tmp_path / "vosk-model-other").exists()


def test_fetch_refuses_an_archive_that_holds_no_model(server: Served, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("readme.txt", "not a model")
    model = KnownModel("vosk-model-empty", "xx", server.base + "/empty.zip", None, None)
    server.files["/empty.zip"] = (buffer.getvalue(), len(buffer.getvalue()))
    with pytest.raises(FetchError, match="holds no vosk model"):
        models.fetch(model, tmp_path, accept_unpinned=True)


def test_verify_finds_a_changed_file(server: Served, tmp_path: Path) -> None:
    path = models.fetch(entry(server, "/good.zip", model_zip()), tmp_path)
    (path / "conf" / "model.conf").write_text("--beam=99\n")
    verdict = models.verify(path)
    assert not verdict.ok and "conf/model.conf" in verdict.text


def test_the_models_command_lists_fetches_and_verifies(
    server: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert speech_main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    for name in (
        "vosk-model-small-en-us-0.15",
        "vosk-model-en-us-0.22-lgraph",
        "vosk-model-small-ko-0.22",
    ):
        assert name in listing
    assert speech_main(["models", "verify", "--dir", str(tmp_path)]) == 1
    assert "no models are installed" in capsys.readouterr().out
    models.fetch(entry(server, "/good.zip", model_zip()), tmp_path)
    assert speech_main(["models", "verify", "--dir", str(tmp_path)]) == 0
    assert speech_main(["models", "fetch", "no-such-model", "--dir", str(tmp_path)]) == 1
    assert "no known model called 'no-such-model'" in capsys.readouterr().err


def test_every_registry_entry_says_where_it_comes_from_and_how_it_is_checked() -> None:
    names = {model.name for model in models.REGISTRY}
    assert {
        "vosk-model-small-en-us-0.15",
        "vosk-model-en-us-0.22-lgraph",
        "vosk-model-small-ko-0.22",
    } <= names
    for model in models.REGISTRY:
        assert model.url.startswith("https://") and model.url.endswith(model.name + ".zip")
        assert model.sha256 is None or len(model.sha256) == 64
        if model.sha256 is None:
            assert "no public SHA-256" in model.note


def test_a_missing_model_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(
        ModelMissingError, match=r"scorebot models fetch vosk-model-small-en-us-0\.15"
    ):
        models.resolve("en", folder=tmp_path)
    with pytest.raises(ModelMissingError, match="is not a vosk model"):
        models.resolve("en", explicit=tmp_path)


def test_korean_falls_back_to_the_packaged_model(tmp_path: Path) -> None:
    packaged = korean_model()
    assert models.resolve("ko", folder=tmp_path) == packaged
    assert models.verify(packaged).ok
