"""Use-cases shared by every interface: the JSON API, the pages, the CLI and the SDK."""
