"""Running plans: Plan/Step, the executor, run log, run state, rollback, answers files."""
