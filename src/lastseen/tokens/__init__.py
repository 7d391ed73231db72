"""Session tokens: the short-lived RS256 JWTs that prove a session.

The service mints them with its private signing keys. Verifying one needs only the
public keys (a JWKS or a PEM key), so a backend can check a token on every request
without calling the session service.
"""
