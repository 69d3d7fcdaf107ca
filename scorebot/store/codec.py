"""Meeting state and minutes records to and from JSON, for the stores."""

from __future__ import annotations

import msgspec

from scorebot.core.minutes import Record
from scorebot.core.model import Meeting

_meeting_decoder = msgspec.json.Decoder(Meeting)
_record_decoder = msgspec.json.Decoder(Record)
_encoder = msgspec.json.Encoder()


def encode_meeting(meeting: Meeting) -> str:
    return _encoder.encode(meeting).decode()


def decode_meeting(text: str | bytes) -> Meeting:
    return _meeting_decoder.decode(text)


def encode_record(record: Record) -> str:
    return _encoder.encode(record).decode()


def decode_record(text: str | bytes) -> Record:
    return _record_decoder.decode(text)
