"""Linear traces from search trees: exact-k linearization, the styles that say them
(`styles/`), and replaying text back through the rules."""
