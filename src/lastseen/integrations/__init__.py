"""Integrations that let host apps verify lastseen sessions and record their activity."""
