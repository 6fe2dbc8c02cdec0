"""Console scripts of the core."""
