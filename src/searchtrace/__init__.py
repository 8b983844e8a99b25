"""searchtrace: search-trace datasets with an exactly controlled number of backtracks."""

__version__ = "0.1.0"
