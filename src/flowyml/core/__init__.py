"""The pure core: steps, the graph, fingerprints, hashing, errors, names and refs.

No I/O beyond reading source files, no backend, no runtime: everything above imports
this package, and it imports nothing above it (see the import-linter contracts in
pyproject.toml).
"""
