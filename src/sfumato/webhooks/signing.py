"""Standard Webhooks signatures (https://www.standardwebhooks.com): what a receiver checks.

Signing uses the `standardwebhooks` package, the spec's own reference implementation: pure
Python, no dependencies, and receivers can verify with the very same code.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """`whsec_<base64 of 24 random bytes>`, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, delivery_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the decoded secret."""
    return Webhook(secret).sign(delivery_id, datetime.fromtimestamp(timestamp, UTC), body)
