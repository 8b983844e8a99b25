"""The Beam build: the plan, per-candidate processing, the Beam graph and its DoFns, the
driver that runs it in rounds, the deterministic writer and the files beside the shards."""
