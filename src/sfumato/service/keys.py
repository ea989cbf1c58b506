"""Users and API keys: create (shown once), list, revoke, authenticate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sfumato.domain.keys import hash_key, new_key
from sfumato.domain.views import Principal
from sfumato.service.key_cache import VerifiedKeys
from sfumato.store.repositories import find_active_key, get_or_create_user, utcnow
from sfumato.store.tables import ApiKey, User
from sfumato.store.views import principal
from sfumato.webhooks.signing import new_webhook_secret
from sfumato.webhooks.url_safety import check_public_webhook_url, check_webhook_url_form


@dataclass(frozen=True)
class IssuedKey:
    api_key: str
    api_key_id: str
    user_id: str
    username: str
    concurrency: int
    webhook_url: str | None
    webhook_secret: str | None = None  # signs this key's webhooks; shown once, like the key


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    username: str
    user_id: str
    prefix: str
    concurrency: int
    webhook_url: str | None
    created_at: str
    revoked: bool


@dataclass
class KeyService:
    session_factory: sessionmaker[Session]
    # Keys verified in the last seconds (see key_cache.py for the revocation window).
    verified: VerifiedKeys = field(default_factory=VerifiedKeys)

    def create(
        self,
        username: str,
        concurrency: int,
        webhook_url: str | None = None,
        webhook_api_key: str | None = None,
        allow_private_webhook: bool = False,
    ) -> IssuedKey:
        """A new key for the user of that name (made if new). The secret leaves only here.

        A webhook URL that can never be delivered raises MalformedWebhookUrl; one on a private,
        loopback or link-local address raises NonPublicWebhookUrl unless `allow_private_webhook`.
        """
        if webhook_url is not None:
            (check_webhook_url_form if allow_private_webhook else check_public_webhook_url)(webhook_url)
        secret = new_key()
        webhook_secret = new_webhook_secret() if webhook_url else None
        with self.session_factory() as session, session.begin():
            user = get_or_create_user(session, username)
            key = ApiKey(
                id=str(uuid.uuid4()),
                user_id=user.id,
                name=username,
                lookup_prefix=secret.lookup_prefix,
                key_hash=secret.key_hash,
                concurrency=concurrency,
                webhook_url=webhook_url,
                webhook_api_key=webhook_api_key,
                webhook_secret=webhook_secret,
                created_at=utcnow(),
            )
            session.add(key)
            return IssuedKey(secret.secret, key.id, user.id, user.username, concurrency, webhook_url, webhook_secret)

    def recently_verified(self, secret: str) -> Principal | None:
        """Who `secret` speaks for if it was verified within the cache's TTL; no database call."""
        return self.verified.get(hash_key(secret))

    def authenticate(self, secret: str) -> Principal | None:
        """Who `secret` speaks for, if it is an unrevoked key (recently verified, else checked now)."""
        if (cached := self.recently_verified(secret)) is not None:
            return cached
        with self.session_factory() as session:
            key = find_active_key(session, secret)
            found = principal(key) if key else None
        if found is not None:
            self.verified.put(hash_key(secret), found)
        return found

    def username(self, user_id: str) -> str | None:
        with self.session_factory() as session:
            user = session.get(User, user_id)
            return user.username if user else None

    def list(self) -> list[KeyInfo]:
        with self.session_factory() as session:
            rows = session.execute(select(ApiKey, User).join(User).order_by(ApiKey.created_at)).all()
            return [
                KeyInfo(
                    id=key.id,
                    name=key.name,
                    username=user.username,
                    user_id=user.id,
                    prefix=key.lookup_prefix,
                    concurrency=key.concurrency,
                    webhook_url=key.webhook_url,
                    created_at=key.created_at.isoformat(timespec="seconds"),
                    revoked=key.revoked_at is not None,
                )
                for key, user in rows
            ]

    def revoke(self, key_id_or_prefix: str) -> int:
        """Revoke by key id or by the key's first 8 characters; returns how many."""
        needle = key_id_or_prefix.strip().lower()
        with self.session_factory() as session, session.begin():
            keys = session.scalars(
                select(ApiKey).where(
                    ApiKey.revoked_at.is_(None),
                    (ApiKey.id == needle) | (ApiKey.lookup_prefix == needle[:8]),
                )
            ).all()
            matched = [k for k in keys if k.id == needle or needle.startswith(k.lookup_prefix)]
            for key in matched:
                key.revoked_at = utcnow()
        self.verified.forget({key.id for key in matched})
        return len(matched)

    def local(self, name: str) -> Principal:
        """The key that work started on this machine runs under (`sfumato generate`): user and key
        `name`, made on first use. Its secret is shown to no one, and its concurrency is 0, so a
        server's queue on the same store leaves its jobs to the command that made them."""
        with self.session_factory() as session, session.begin():
            user = get_or_create_user(session, name)
            key = session.scalar(
                select(ApiKey).where(
                    ApiKey.user_id == user.id, ApiKey.name == name, ApiKey.concurrency == 0, ApiKey.revoked_at.is_(None)
                )
            )
            if key is None:
                secret = new_key()
                key = ApiKey(
                    id=str(uuid.uuid4()),
                    user_id=user.id,
                    name=name,
                    lookup_prefix=secret.lookup_prefix,
                    key_hash=secret.key_hash,
                    concurrency=0,
                    created_at=utcnow(),
                )
                session.add(key)
            return principal(key)
