"""The scheduler: filters, a weigher, and atomic claims in the database."""
