"""The shared pyarrow schema of every row, and its version."""
