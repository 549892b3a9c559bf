"""Writes of the RGPD engine: keyword-only, typed, transactional, each taking the acting user."""
