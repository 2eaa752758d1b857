"""Helpers the simulators share: people, names, innocent oddities."""
