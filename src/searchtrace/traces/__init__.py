"""Linear traces from search trees: exact-k linearization, rendering and parsing back."""
