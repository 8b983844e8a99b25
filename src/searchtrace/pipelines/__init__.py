"""The Beam build: plan, per-candidate processing, transforms, deterministic writer, driver."""
