"""HTTP plumbing shared by every route: dependencies, error mapping, limits."""
