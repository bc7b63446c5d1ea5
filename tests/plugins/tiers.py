"""Tiers (placeholder)."""
