"""The conductor: owns the database and every decision (scheduling, instance
state, retries, liveness, reconciliation). Needs the ``core`` extra."""
