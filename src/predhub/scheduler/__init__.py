"""The freshness engine: sync priorities, budgets, and the workers that spend them."""
