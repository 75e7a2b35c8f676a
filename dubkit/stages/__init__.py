"""The localize recipe's stages, one verb-named module per step (docs/ARCHITECTURE.md)."""
