"""Evolution: mutation operators, the version registry with avoidance rules, statistical comparison."""
