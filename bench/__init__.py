"""Benchmarks of the service (``make bench``): measured against baselines of the same run."""
