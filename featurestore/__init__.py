"""Feature store: the Feast repository and the feature read/write adapters (issue 3)."""

__all__: list[str] = []
