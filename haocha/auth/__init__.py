"""Who is calling: users, their tokens (kept only as salted hashes) and the bearer check."""
