"""The PostgreSQL store: the database, its tables, applying plans, revisions, the runtime tables, the lock."""
