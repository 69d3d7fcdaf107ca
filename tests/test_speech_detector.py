"""The cue detector on recognizer results shaped exactly as vosk returns them (English words)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from speech.detector import CueDetector, match
from speech.events import Transcript
from speech.recognizer import parse_result
from speech.vocabulary import Vocabulary, load


def vosk_result(*words: str, start: float = 1.0, step: float = 0.3, conf: float = 1.0) -> str:
    """A final result as vosk's KaldiRecognizer.Result() writes it (SetWords on)."""
    result = [
        {"conf": conf, "end": start + step * (i + 1) - 0.05, "start": start + step * i, "word": w}
        for i, w in enumerate(words)
    ]
    return json.dumps({"result": result, "text": " ".join(words)})


def heard(*words: str, **shape: float) -> Transcript:
    return parse_result(vosk_result(*words, **shape))


@pytest.fixture(scope="module")
def english() -> Vocabulary:
    return load("en").with_names(["Maria", "Ben Okafor"])


@pytest.mark.parametrize(
    ("words", "cue"),
    [
        (["stack"], "stack"),
        (["stack", "please"], "stack"),
        (["unstack"], "unstack"),
        (["next"], "next"),
        (["i'm", "done"], "done"),
        (["ouch"], "ouch"),
        (["oops"], "oops"),
        (["point", "of", "process"], "process"),
        (["clarifying", "question"], "clarify"),
        (["direct", "response"], "direct"),
    ],
)
def test_a_whole_utterance_that_is_a_cue_phrase_is_that_cue(
    english: Vocabulary, words: list[str], cue: str
) -> None:
    found = match(heard(*words), english)
    assert found is not None
    assert (found.cue, found.name) == (cue, None)


def test_stack_with_an_enrolled_name_after_or_before_carries_the_name(english: Vocabulary) -> None:
    after = match(heard("stack", "maria"), english)
    before = match(heard("maria", "stack"), english)
    two_words = match(heard("stack", "ben", "okafor"), english)
    assert after is not None and after.name == "Maria"
    assert before is not None and before.name == "Maria"
    assert two_words is not None and two_words.name == "Ben Okafor"


def test_a_name_nobody_enrolled_makes_no_cue(english: Vocabulary) -> None:
    assert match(heard("stack", "ben"), english) is None
    assert match(heard("stack", "john"), english) is None


def test_a_name_only_goes_with_cues_about_a_person(english: Vocabulary) -> None:
    assert match(heard("next", "maria"), english) is None
    ouch = match(heard("ouch", "maria"), english)
    assert ouch is not None and ouch.name == "Maria"


@pytest.mark.parametrize(
    "words",
    [
        # "we stacked the chairs": grammar mode maps "stacked" onto "stack" at confidence 1.0
        ["we", "stack", "the", "chairs"],
        ["we", "stacked", "the", "chairs"],
        # "next week we meet"
        ["next", "week", "we", "meet"],
        ["i'm", "done", "with", "that"],
        ["the", "point", "of", "process", "is"],
        ["stack", "stack", "the", "chairs"],
        ["[unk]", "stack"],
        ["stack", "[unk]"],
        ["snack"],
        ["couch"],
        ["hoops"],
    ],
)
def test_ordinary_talk_containing_a_cue_word_is_never_a_cue(
    english: Vocabulary, words: list[str]
) -> None:
    assert match(heard(*words), english) is None


def test_hesitation_sounds_around_a_cue_do_not_hide_it(english: Vocabulary) -> None:
    found = match(heard("um", "stack", "uh"), english)
    assert found is not None and found.cue == "stack"
    assert found.start == pytest.approx(1.3)


def test_a_stuttered_cue_word_counts_once(english: Vocabulary) -> None:
    found = match(heard("stack", "stack"), english)
    assert found is not None and found.cue == "stack"


def test_a_cue_below_its_confidence_threshold_is_not_heard(english: Vocabulary) -> None:
    assert match(heard("stack", conf=0.69), english) is None
    assert match(heard("stack", conf=0.71), english) is not None
    assert match(heard("point", "of", "process", conf=0.61), english) is not None
    assert match(heard("oops", conf=0.75), english) is None


def test_a_cue_that_takes_too_long_or_is_too_short_is_not_heard(english: Vocabulary) -> None:
    assert match(heard("stack", step=4.0), english) is None
    assert match(heard("stack", step=0.1), english) is None


def test_a_partial_result_is_never_a_cue(english: Vocabulary) -> None:
    partial = heard("stack")
    assert match(Transcript(partial.words, final=False), english) is None


def test_the_cue_carries_where_it_was_said_in_seconds(english: Vocabulary) -> None:
    found = match(heard("stack", "maria", start=12.0), english)
    assert found is not None
    assert (found.start, found.end) == pytest.approx((12.0, 12.55))
    assert found.as_json() == {
        "cue": "stack", "name": "Maria", "start": 12.0, "end": 12.55, "confidence": 1.0,
    }  # fmt: skip


def test_the_same_cue_twice_in_a_moment_counts_once_but_later_again(english: Vocabulary) -> None:
    detector = CueDetector(english)
    first = detector.feed(heard("stack", start=10.0))
    echo = detector.feed(heard("stack", start=11.0))
    other = detector.feed(heard("stack", "maria", start=11.5))
    later = detector.feed(heard("stack", start=20.0))
    assert first is not None and echo is None
    assert other is not None and other.name == "Maria"
    assert later is not None


def test_an_empty_utterance_is_nothing(english: Vocabulary) -> None:
    assert match(parse_result(json.dumps({"text": ""})), english) is None
    assert CueDetector(english).feed(heard("um")) is None


def test_a_korean_polite_ending_after_a_cue_changes_nothing() -> None:
    korean = load("ko")
    with_ending = match(heard("다음", "발언자", "요"), korean)
    stack = match(heard("저", "요"), korean)
    assert with_ending is not None and with_ending.cue == "next"
    assert with_ending.end == pytest.approx(1.55)  # where "발언자" ends
    assert stack is not None and stack.cue == "stack"
    assert match(heard("요"), korean) is None


def test_a_particle_heard_for_a_phrases_first_word_still_gives_the_cue() -> None:
    korean = load("ko")
    slipped = match(heard("는", "발언자"), korean)
    assert slipped is not None and slipped.cue == "next"
    assert slipped.start == pytest.approx(1.0)  # where the stand-in begins


def test_a_stand_in_needs_the_rest_of_the_phrase_exact_and_long_enough() -> None:
    korean = load("ko")
    assert match(heard("는", "요"), korean) is None  # "저 요": the rest is one syllable
    assert match(heard("를", "는", "발언자"), korean) is None  # one stand-in only
    assert match(heard("발언자"), korean) is None  # nothing in place of the first word
    assert match(heard("회의", "발언자"), korean) is None  # a word, not a stand-in particle
    # the rest is itself a word of ordinary talk: "를 할게요" is "I'll do it", not a cue
    talk = rescuing()
    assert "할게요" in talk.soundalikes
    assert match(heard("를", "할게요"), talk) is None
    assert match(heard("반박", "할게요"), talk) is not None


def nbest(
    *readings: tuple[float, list[str]], start: float = 1.0, seconds: float = 0.0
) -> Transcript:
    """A final result as vosk writes it with SetMaxAlternatives: readings with their
    log-likelihood ("confidence"), words timed but without confidences: 0.3 s each, or
    sharing `seconds` evenly (every reading then spans the same speech)."""

    def timed(words: list[str]) -> list[dict[str, object]]:
        step = seconds / len(words) if seconds else 0.3
        return [
            {"end": start + step * (i + 1), "start": start + step * i, "word": w}
            for i, w in enumerate(words)
        ]

    alternatives = [
        {"confidence": score, "result": timed(words), "text": " ".join(words)}
        for score, words in readings
    ]
    return parse_result(json.dumps({"alternatives": alternatives}))


def rescuing(margin: float = 6.0) -> Vocabulary:
    """The Korean vocabulary with a margin and fixed phrases for direct and unstack (the
    tests below spell readings of them), whatever ko.toml currently lists."""
    korean = load("ko")
    cues = {**korean.cues, "direct": ("반박 할게요",), "unstack": ("발언 취소",)}
    return replace(korean, cues=cues, margin=margin, margins={})


def test_an_nbest_result_gives_the_best_reading_with_likelihood_shares_as_confidences() -> None:
    transcript = nbest((98.0, ["다", "가", "할게요"]), (100.0, ["다음", "가", "할게요"]))
    assert transcript.text == "다음 가 할게요"  # the likelier reading, whatever vosk's order
    first, second, third = transcript.words
    share = 1 / (1 + math.exp(-2.0))
    assert first.confidence == pytest.approx(share)  # only the best reading has "다음" there
    assert second.confidence == pytest.approx(1.0) and third.confidence == pytest.approx(1.0)
    (other,) = transcript.alternatives
    assert other.text == "다 가 할게요" and other.gap == pytest.approx(2.0)
    assert other.words[0].confidence == pytest.approx(1 - share)


def test_a_cue_phrase_a_little_below_the_best_reading_is_heard_within_the_margin() -> None:
    korean = rescuing()
    transcript = nbest(
        (105.4, ["다음", "가", "할게요"]),
        (104.9, ["다", "가", "할게요"]),
        (102.5, ["반박", "할게요"]),
    )
    found = match(transcript, korean)
    assert found is not None and found.cue == "direct" and found.text == "반박 할게요"
    assert match(transcript, replace(korean, margin=2.0)) is None  # 2.9 below: too far
    assert match(transcript, replace(korean, margins={"direct": 1.0})) is None  # its own margin


def test_a_cue_phrase_below_a_best_reading_that_is_a_cue_does_not_replace_it() -> None:
    korean = replace(rescuing(), threshold=0.9)
    # the best reading is "저 요" but unsure; "아야" just below must not be taken instead
    transcript = nbest((50.0, ["저", "요"]), (49.5, ["아야"]))
    assert match(transcript, korean) is None
    assert match(transcript, replace(korean, threshold=0.3)) is not None


def test_ordinary_talk_whose_readings_hold_no_whole_cue_phrase_is_no_cue() -> None:
    korean = rescuing()
    talk = nbest(
        (200.0, ["저", "는", "오늘", "회의", "를", "준비", "했어요"]),
        (199.0, ["저", "요", "오늘", "회의", "를", "준비", "했어요"]),
        (198.0, ["아야", "회의", "를"]),
    )
    assert match(talk, korean) is None
    empty_best = parse_result(json.dumps({"alternatives": []}))
    assert match(empty_best, korean) is None


def test_a_cue_reading_that_leaves_out_speech_the_best_reading_heard_is_no_cue() -> None:
    korean = rescuing()
    # "발언 순서를…" heard best as "발언 취소 발언 를" (1.0 to 2.2 s); "발언 취소 요" below
    # it gives the last 0.6 s to a drawn-out ending: no reading of the whole utterance
    best = {"confidence": 80.0, "result": [
        {"word": w, "start": 1.0 + 0.3 * i, "end": 1.3 + 0.3 * i}
        for i, w in enumerate(["발언", "취소", "발언", "를"])
    ]}  # fmt: skip
    drawn_out = {"confidence": 78.0, "result": [
        {"word": "발언", "start": 1.0, "end": 1.3},
        {"word": "취소", "start": 1.3, "end": 1.6},
        {"word": "요", "start": 1.6, "end": 2.2},
    ]}  # fmt: skip
    transcript = parse_result(json.dumps({"alternatives": [best, drawn_out]}))
    assert match(transcript, korean) is None
    # cue words spanning the whole utterance are a reading of it
    covering = nbest((80.0, ["다", "이", "가", "할게요"]), (78.0, ["반박", "할게요"]), seconds=1.2)
    found = match(covering, korean)
    assert found is not None and found.cue == "direct"


def test_a_rescued_reading_may_not_also_stand_a_particle_in_for_a_word_unheard_above() -> None:
    korean = rescuing()
    # "예 입니다 해요" best; "이 뜻 이에요" below it would need two guesses: the reading
    # and "이" standing in for "무슨", with "뜻 이에요" nowhere in the best reading
    guessed = nbest((60.0, ["예", "입니다", "해요"]), (58.7, ["이", "뜻", "이에요"]), seconds=1.1)
    assert match(guessed, korean) is None
    # the rest of the phrase heard above, only its first word lost to a particle: a cue
    heard_above = nbest(
        (60.0, ["논의", "뜻", "이에요"]), (59.0, ["는", "뜻", "이에요"]), seconds=1.1
    )
    found = match(heard_above, korean)
    assert found is not None and found.cue == "clarify"


def test_a_cue_that_begins_the_moment_other_words_end_is_a_sentences_tail() -> None:
    korean = replace(load("ko"), pause_before=0.15)
    detector = CueDetector(korean)
    assert detector.feed(heard("회의", "를", "했", start=1.0)) is None  # ends at 1.85
    assert detector.feed(heard("저", "요", start=1.9)) is None  # 0.05 s later: "…했어요"
    later = detector.feed(heard("저", "요", start=5.0))
    assert later is not None and later.cue == "stack"
    # with no words before it, or after a pause, a cue is a cue
    assert CueDetector(korean).feed(heard("저", "요", start=0.0)) is not None
