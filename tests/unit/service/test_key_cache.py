"""The verified-key cache on a real store: it speeds up only what the database already said, a
revoke here is felt at once, one elsewhere within the TTL, and keys never answer for each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.domain.keys import hash_key
from sfumato.domain.views import Principal
from sfumato.service.key_cache import VerifiedKeys
from sfumato.service.keys import KeyService
from sfumato.store.repositories import utcnow
from sfumato.store.tables import ApiKey


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    yield container
    container.close()


def revoke_elsewhere(container: Container, key_id: str) -> None:
    """What `sfumato keys revoke` in another process does: the row changes, this process's cache is not told."""
    with container.session_factory() as session, session.begin():
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=utcnow()))


def test_a_revoke_through_the_service_is_felt_at_once(container: Container) -> None:
    issued = container.keys.create("ann", concurrency=1)
    assert container.keys.authenticate(issued.api_key) is not None
    assert container.keys.recently_verified(issued.api_key) is not None  # cached now
    assert container.keys.revoke(issued.api_key_id) == 1
    assert container.keys.recently_verified(issued.api_key) is None
    assert container.keys.authenticate(issued.api_key) is None


def test_a_revoke_from_another_process_is_felt_once_the_ttl_passes(container: Container) -> None:
    clock = Clock()
    keys = KeyService(container.session_factory, VerifiedKeys(ttl_s=2.0, clock=clock))
    issued = keys.create("ben", concurrency=1)
    assert keys.authenticate(issued.api_key) is not None
    revoke_elsewhere(container, issued.api_key_id)
    clock.now += 1.9
    assert keys.authenticate(issued.api_key) is not None  # inside the documented window
    clock.now += 0.2
    assert keys.authenticate(issued.api_key) is None
    assert keys.authenticate(issued.api_key) is None  # a refusal is not cached as anything else


def test_keys_answer_only_for_themselves(container: Container) -> None:
    ann = container.keys.create("ann", concurrency=1)
    bob = container.keys.create("bob", concurrency=3)
    first = [container.keys.authenticate(k.api_key) for k in (ann, bob)]
    again = [container.keys.authenticate(k.api_key) for k in (ann, bob)]
    expected = [
        Principal(key_id=ann.api_key_id, user_id=ann.user_id, concurrency=1),
        Principal(key_id=bob.api_key_id, user_id=bob.user_id, concurrency=3),
    ]
    assert first == expected and again == expected
    # Same lookup prefix, another secret: never the cached key's principal.
    forged = ann.api_key[:8] + bob.api_key[8:]
    assert container.keys.authenticate(forged) is None
    assert container.keys.recently_verified(forged) is None


def test_unknown_secrets_are_not_cached_so_a_new_key_works_at_once(container: Container) -> None:
    assert container.keys.authenticate("1f0e5b7a-1111-4222-8333-444455556666") is None
    assert len(container.keys.verified) == 0
    issued = container.keys.create("cat", concurrency=1)
    assert container.keys.authenticate(issued.api_key) is not None


def test_the_cache_is_bounded_and_keeps_no_secret() -> None:
    cache = VerifiedKeys(max_entries=2)
    for n in range(3):
        cache.put(hash_key(f"secret-{n}"), Principal(key_id=f"k{n}", user_id="u", concurrency=1))
    assert len(cache) == 2
    assert cache.get(hash_key("secret-0")) is None
    assert cache.get(hash_key("secret-2")) == Principal(key_id="k2", user_id="u", concurrency=1)
    assert all("secret" not in stored for stored in cache._entries)


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = VerifiedKeys(ttl_s=0)
    cache.put(hash_key("s"), Principal(key_id="k", user_id="u", concurrency=1))
    assert cache.get(hash_key("s")) is None
