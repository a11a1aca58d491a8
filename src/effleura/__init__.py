"""Effleura: clinical massage therapy practice software."""
