"""The entry points: HTTP API, gateway, CLI, report rendering, simulator, terminal client, and the one composition root (bootstrap)."""
