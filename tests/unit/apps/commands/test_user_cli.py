"""`haocha user`: ids and departments validated against the directory, roles listed in --help,
non-zero exits on refusal; console passwords from stdin (stored only hashed); one-time
set-password links; people's tokens expire, machine tokens need not."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from apps import cli
from haocha import settings as settings_mod
from haocha.auth.tokens import verify_secret
from haocha.auth.users import UserFile
from haocha.settings import Settings


@pytest.fixture
def users(tmp_path, monkeypatch) -> UserFile:
    monkeypatch.setattr(settings_mod, "load", lambda: Settings(data_dir=tmp_path, api_url="http://hall.example:8080"))
    return UserFile(tmp_path / "users.json")


@pytest.mark.parametrize("argv, why", [
    (["x y", "--role", "admin"], "a user id is 1-64 of"),
    (["o-x", "--role", "officer", "--department", "D-NOPE"], "no department D-NOPE in the directory"),
    (["o-x", "--role", "officer"], "an officer belongs to a department"),
])
def test_refusals_exit_non_zero_and_store_nothing(users, capsys, argv, why):
    try:
        code = cli.main(["user", "add", *argv])
    except SystemExit as exc:  # argparse refuses a bad id itself
        code = exc.code
    assert code != 0 and why in capsys.readouterr().err
    assert users.all() == []


def test_roles_are_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["user", "add", "--help"])
    assert "one of: officer, supervisor, manager, admin" in capsys.readouterr().out


def test_password_from_stdin_is_stored_hashed(users, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("长城-password-1\n"))
    assert cli.main(["user", "add", "o-li", "--role", "officer", "--department", "D-CZJ", "--password-stdin"]) == 0
    u = users.get("o-li")
    assert verify_secret("长城-password-1", u.password_hash) and "长城-password-1" not in users.path.read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "o-x", "--role", "manager", "--password-stdin"]) == 1


def test_set_password_link_and_reset(users, capsys):
    assert cli.main(["user", "add", "o-li", "--role", "officer", "--department", "D-CZJ", "--set-password-link"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("o-li.") and out[1].startswith("http://hall.example:8080/console/#/set-password?token=o-li.")
    first = out[1].split("token=")[1]
    assert cli.main(["user", "reset-password", "o-li"]) == 0
    second = capsys.readouterr().out.strip().split("token=")[1]
    assert users.redeem_link(first, "x") is None  # a new link replaces the old
    assert users.redeem_link(second, "hash") is not None and users.redeem_link(second, "hash") is None  # once
    assert cli.main(["user", "reset-password", "nobody"]) == 1


def test_people_tokens_expire_in_30_days_machine_tokens_never(users, capsys):
    now = datetime.now(timezone.utc)
    assert cli.main(["user", "add", "s-chen", "--role", "supervisor"]) == 0
    assert cli.main(["user", "add", "bot", "--role", "admin", "--machine"]) == 0
    expires = users.get("s-chen").token_expires_at
    assert timedelta(days=29.9) < expires - now < timedelta(days=30.1)
    assert users.get("bot").token_expires_at is None


def test_disable_and_enable(users, capsys):
    assert cli.main(["user", "add", "m-sun", "--role", "manager"]) == 0
    assert cli.main(["user", "disable", "m-sun"]) == 0 and users.get("m-sun").disabled
    assert cli.main(["user", "enable", "m-sun"]) == 0 and not users.get("m-sun").disabled
    assert cli.main(["user", "disable", "nobody"]) == 1
