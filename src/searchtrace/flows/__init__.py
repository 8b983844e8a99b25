"""Orchestration around builds: the build's steps (plan, stage, gate, publish), the
Prefect flows that run them, and the validation gate a dataset must pass to be published."""
