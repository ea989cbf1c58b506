"""`sfumato keys create --webhook-url`: what is refused, what the operator flag allows, and
`keys list` showing whole ids, through the real CLI on a real data dir (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

NOT_A_URL = ["ftp://93.184.216.34/hook", "not-a-url", "http:///hook", "http://[::1/hook", "http://exa mple.com/"]
NOT_PUBLIC = ["http://127.0.0.1:9/h", "http://10.0.0.1/h", "http://[::1]/h", "http://169.254.169.254/h"]


def create(data_dir: Path, url: str, *extra: str) -> tuple[int, str, str]:
    result = run_cli(data_dir, "keys", "create", "--name", "x", "--webhook-url", url, *extra, check=False)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("url", NOT_A_URL)
def test_undeliverable_webhook_url_is_refused_even_with_the_flag(tmp_path: Path, url: str) -> None:
    for extra in ((), ("--allow-private-webhook",)):
        code, stdout, stderr = create(tmp_path, url, *extra)
        assert (code, stdout) == (2, "")
        [line] = stderr.splitlines()  # one line, no traceback
        assert f"refusing --webhook-url {url!r}" in line and "--allow-private-webhook" not in line


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_webhook_url_needs_the_operator_flag(tmp_path: Path, url: str) -> None:
    code, stdout, stderr = create(tmp_path, url)
    assert (code, stdout) == (2, "")
    [line] = stderr.splitlines()
    assert f"refusing --webhook-url {url!r}" in line and "non-public address" in line
    assert "pass --allow-private-webhook" in line
    assert json.loads(run_cli(tmp_path, "keys", "list", "--json").stdout) == []  # nothing was made


def test_flag_allows_a_loopback_receiver_and_a_public_literal_needs_none(tmp_path: Path) -> None:
    code, stdout, _ = create(tmp_path, "http://127.0.0.1:9/h", "--allow-private-webhook")
    assert code == 0
    local = json.loads(stdout)
    assert local["webhookUrl"] == "http://127.0.0.1:9/h" and local["webhookSecret"].startswith("whsec_")

    code, stdout, _ = create(tmp_path, "https://93.184.216.34/hook")  # an IP literal: no DNS needed
    assert code == 0
    public = json.loads(stdout)
    assert public["webhookUrl"] == "https://93.184.216.34/hook"


def test_keys_list_shows_whole_ids_as_json_and_in_a_narrow_table(tmp_path: Path) -> None:
    made = [json.loads(run_cli(tmp_path, "keys", "create", "--name", name).stdout) for name in ("ann", "ben")]
    run_cli(tmp_path, "keys", "revoke", made[1]["apiKeyId"])

    listed = json.loads(run_cli(tmp_path, "keys", "list", "--json").stdout)
    assert [k["apiKeyId"] for k in listed] == [k["apiKeyId"] for k in made]
    assert [k["userId"] for k in listed] == [k["userId"] for k in made]
    assert [(k["username"], k["prefix"], k["revoked"]) for k in listed] == [
        ("ann", made[0]["apiKey"][:8], False),
        ("ben", made[1]["apiKey"][:8], True),
    ]
    assert all(k["concurrency"] == 10 and k["webhookUrl"] is None and k["createdAt"] for k in listed)

    table = run_cli(tmp_path, "keys", "list", env={"COLUMNS": "40"}).stdout  # a narrow terminal
    for key in made:
        assert key["apiKeyId"] in table and key["userId"] in table
