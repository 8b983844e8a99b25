"""Task rules, step text and answer checkers (one module per task), and trace replay."""
