"""Wire contracts: events, decisions, rewards and dead letters, with their JSON Schema exports."""
