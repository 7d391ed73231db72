"""The names users import: the package and the SDK export exactly what they document."""

import lastseen
import lastseen.client


def test_package_exports() -> None:
    assert sorted(lastseen.__all__) == [
        "APIError",
        "CachedJWKS",
        "ConfigurationError",
        "JWKS",
        "LastseenError",
        "ServiceError",
        "SessionClaims",
        "Settings",
        "TokenError",
        "TokenExpired",
        "TokenInvalid",
        "TokenNotYetValid",
        "UnknownSigningKey",
        "__version__",
        "verify_session_token",
    ]


def test_every_export_exists() -> None:
    for module in (lastseen, lastseen.client):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_errors_share_one_root() -> None:
    for error in (
        lastseen.APIError,
        lastseen.ConfigurationError,
        lastseen.ServiceError,
        lastseen.TokenError,
    ):
        assert issubclass(error, lastseen.LastseenError)


def test_sdk_raises_package_error() -> None:
    assert lastseen.client.APIError is lastseen.APIError
