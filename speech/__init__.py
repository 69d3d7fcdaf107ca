"""The local speech listener (vosk + sounddevice) arrives in a later issue.

It will turn spoken cues into plain (text, time) pairs; `scorebot/voice` will make them
`Signal`s. This package must never import `scorebot` or `nio`.
"""
