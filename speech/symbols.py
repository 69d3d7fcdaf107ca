"""The words a vosk model knows: `graph/words.txt`, or the symbol table inside `graph/Gr.fst`."""

from __future__ import annotations

import functools
import struct
from pathlib import Path

_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_HAS_INPUT_SYMBOLS = 1
UNKNOWN_TOKENS = ("[unk]", "<UNK>")
"""How models spell the unknown word: Kaldi English models `[unk]`, the Korean one `<UNK>`."""


class SymbolsError(ValueError):
    """The model's word list cannot be read."""


@functools.lru_cache(maxsize=4)
def model_words(model_dir: Path) -> frozenset[str]:
    """Every word `model_dir`'s graph can output."""
    words_txt = model_dir / "graph" / "words.txt"
    if words_txt.is_file():
        with words_txt.open(encoding="utf-8") as lines:
            return frozenset(line.split(maxsplit=1)[0] for line in lines if line.strip())
    grammar_fst = model_dir / "graph" / "Gr.fst"
    if grammar_fst.is_file():
        return frozenset(_fst_input_symbols(grammar_fst))
    raise SymbolsError(f"{model_dir} has neither graph/words.txt nor graph/Gr.fst.")


def unknown_token(words: frozenset[str]) -> str | None:
    return next((token for token in UNKNOWN_TOKENS if token in words), None)


def _fst_input_symbols(path: Path) -> list[str]:
    """Read the symbol table OpenFst writes after an FST's header (flags bit 1)."""
    with path.open("rb") as stream:
        reader = _Reader(stream.read(64 << 20))
    if reader.int32() != _FST_MAGIC:
        raise SymbolsError(f"{path} is not an OpenFst file.")
    reader.string()  # fst type
    reader.string()  # arc type
    reader.int32()  # version
    flags = reader.int32()
    reader.int64()  # properties
    reader.int64()  # start state
    reader.int64()  # number of states
    reader.int64()  # number of arcs
    if not flags & _HAS_INPUT_SYMBOLS or reader.int32() != _SYMBOLS_MAGIC:
        raise SymbolsError(f"{path} carries no word list.")
    reader.string()  # table name
    reader.int64()  # next free key
    count = reader.int64()
    words = []
    for _ in range(count):
        words.append(reader.string())
        reader.int64()  # key
    return words


class _Reader:
    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def int32(self) -> int:
        return self._unpack("<i", 4)

    def int64(self) -> int:
        return self._unpack("<q", 8)

    def string(self) -> str:
        length = self.int32()
        start = self.position
        self.position += length
        if self.position > len(self.data):
            raise SymbolsError("the word list is cut short.")
        return self.data[start : self.position].decode("utf-8")

    def _unpack(self, fmt: str, size: int) -> int:
        if self.position + size > len(self.data):
            raise SymbolsError("the word list is cut short.")
        (value,) = struct.unpack_from(fmt, self.data, self.position)
        self.position += size
        return int(value)
