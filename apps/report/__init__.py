"""The monthly rectification-rate report: builder (monthly.py), model, and one renderer per format."""
