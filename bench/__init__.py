"""Benchmarks of gdpr_portal (``make bench``); see bench/run.py and bench/RESULTS.md."""
