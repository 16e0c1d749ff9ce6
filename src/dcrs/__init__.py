"""DCRS reporting pipeline."""
