"""The pure meeting engine: signals in, meeting state and past-tense events out."""
