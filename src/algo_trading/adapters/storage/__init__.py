"""Storage adapters: the database behind the unit of work and its repositories."""
