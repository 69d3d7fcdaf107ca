"""Benchmarks that print tables: run each with `python -m bench.<name>` from the repo root."""
