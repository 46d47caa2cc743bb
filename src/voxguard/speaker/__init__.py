"""Speaker engine: embeddings, voiceprints, verification (1:1) and identification (1:N)."""
