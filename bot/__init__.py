"""The disnake runtime: executes reconcile actions and answers interactions."""
