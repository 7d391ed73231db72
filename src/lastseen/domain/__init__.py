"""The session domain: statuses, lifetimes and revoke rules, free of HTTP and SQL."""
