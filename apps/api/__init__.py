"""The HTTP API for officers, supervisors, managers and admins, served by the worker."""
