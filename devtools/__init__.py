"""Tools for the demo, the benchmarks and the tests; not part of the installed package."""
