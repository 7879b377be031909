"""The reconciler: desired model + observed Discord state -> ordered actions (pure, no I/O)."""
