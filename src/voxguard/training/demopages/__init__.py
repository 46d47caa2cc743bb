"""Real-world deepfakes from public demo pages: per-repository rules, a guarded corpus builder.

Each source repository gets one rule file (``rules/OWNER+NAME.toml``) written from its page:
which audio files are genuine recordings and which come from which system, of which family
and language, and which to leave out. The builder reads the audio straight from git, runs the
holdout guard on every clip, deduplicates across sources and writes a manifest and a report.
"""
