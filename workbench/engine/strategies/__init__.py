"""Strategy implementations, one module per strategy; importing a module registers it."""
