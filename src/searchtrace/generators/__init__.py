"""Problem generators: one module per task, each with its config, presets and synthesis."""
