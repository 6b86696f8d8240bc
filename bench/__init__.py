"""Benchmarks: each module has a main(argv) and prints ratios against a baseline run alongside."""
