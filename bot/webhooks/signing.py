"""Standard Webhooks signatures (https://www.standardwebhooks.com): what receivers verify with its libraries.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is
`v1,<base64 HMAC-SHA256>` keyed with the secret's bytes — the base64 after the `whsec_` prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


class BadSecret(ValueError):
    """The environment variable does not hold a Standard Webhooks secret."""


def secret_key(secret: str) -> bytes:
    """`whsec_<base64>` (or the bare base64) → the HMAC key. Never echoes the secret in an error."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("is not a Standard Webhooks secret: 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise BadSecret("is too short: use at least 16 random bytes, base64-encoded after 'whsec_'")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(key: bytes, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
        "content-type": "application/json",
    }
