"""Vocabularies are data: every shipped one loads, and every Korean word is one the model knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from speech.symbols import SymbolsError, model_words, unknown_token
from speech.vocabulary import CUES, VocabularyError, languages, load
from tests.speech_voices import korean_model


def test_english_and_korean_ship_and_give_phrases_for_every_cue() -> None:
    assert {"en", "ko"} <= set(languages())
    for language in ("en", "ko"):
        vocabulary = load(language)
        assert set(vocabulary.cues) == set(CUES)
        assert all(vocabulary.cues[cue] for cue in CUES)


def test_every_word_of_the_korean_vocabulary_is_in_the_models_word_list() -> None:
    words = model_words(korean_model())
    vocabulary = load("ko")
    missing = sorted(w for w in vocabulary.words() if w not in words)
    assert missing == [], f"vosk would drop phrases with these words: {missing}"


def test_the_korean_model_spells_the_unknown_word_its_own_way() -> None:
    words = model_words(korean_model())
    assert len(words) > 100_000
    assert unknown_token(words) == "<UNK>"
    grammar = load("ko").grammar(unknown_token(words))
    assert grammar[-1] == "<UNK>" and "<unk>" not in grammar


def test_no_korean_cue_phrase_is_shorter_than_two_syllables() -> None:
    # a one-syllable cue fires on noise; every Hangul character is one syllable
    phrases = [phrase for _, phrase in load("ko").phrases()]
    assert phrases and all(len(phrase.replace(" ", "")) >= 2 for phrase in phrases)


def test_a_model_folder_without_a_word_list_is_reported(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    with pytest.raises(SymbolsError, match=r"neither graph/words\.txt nor graph/Gr\.fst"):
        model_words(tmp_path)


def test_a_words_txt_word_list_is_read_like_kaldis(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "words.txt").write_text("<eps> 0\n[unk] 1\nstack 2\n")
    words = model_words(tmp_path)
    assert words == {"<eps>", "[unk]", "stack"} and unknown_token(words) == "[unk]"


def test_names_and_extra_phrases_join_the_grammar() -> None:
    vocabulary = (
        load("en")
        .with_names(["Maria", " Ben  Okafor "])
        .with_extra_phrases({"stack": ["put me on"]})
    )
    grammar = vocabulary.grammar("[unk]")
    assert {"maria", "ben okafor", "put me on"} <= set(grammar)
    assert grammar[-1] == "[unk]"
    with pytest.raises(VocabularyError, match=r"no cue called 'stak'"):
        vocabulary.with_extra_phrases({"stak": ["x"]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cues]\nstack = ['stack']\n", "gives no phrases for: unstack"),
        ("cues = 3", "has no \\[cues\\] table"),
        ("[cues\n", "not valid TOML"),
    ],
)
def test_a_broken_vocabulary_file_says_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "xx.toml"
    path.write_text(text)
    with pytest.raises(VocabularyError, match=message):
        load("xx", path)


def test_an_unknown_language_names_the_shipped_ones() -> None:
    with pytest.raises(VocabularyError, match="shipped: en, ko"):
        load("fr")


def test_the_readme_lists_exactly_the_korean_cue_phrases() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Listening in the room", 1)[1].split("\n## ", 1)[0]
    line = section.split("Korean (`--language ko`):", 1)[1].split("The phrases are data", 1)[0]
    listed = {p.replace(" ", "") for p in re.findall(r"`([^`]+)`", line)}
    phrases = {phrase.replace(" ", "") for _, phrase in load("ko").phrases()}
    assert listed == phrases


def test_the_margin_and_per_cue_margins_are_read_and_bounded_by_the_margin(
    tmp_path: Path,
) -> None:
    cues = "".join(f'{cue} = ["{cue} phrase"]\n' for cue in CUES)
    path = tmp_path / "xx.toml"
    path.write_text(f"margin = 4.0\n[margins]\nouch = 9.0\nnext = 1.5\n[cues]\n{cues}")
    vocabulary = load("xx", path)
    assert vocabulary.margin_for("next") == 1.5
    assert vocabulary.margin_for("ouch") == 4.0  # never above the margin
    assert vocabulary.margin_for("stack") == 4.0
    assert load("en").margin_for("stack") == 0.0  # no margin: only the best reading counts
    path.write_text(f"margins = 3\n[cues]\n{cues}")
    with pytest.raises(VocabularyError, match=r"\[margins\] must be a table"):
        load("xx", path)
