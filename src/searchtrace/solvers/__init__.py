"""Task-agnostic search algorithms that return the whole search tree."""
