"""Tokens and users: secrets stored only as salted scrypt hashes, the bearer check, the users file."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from haocha.auth.bearer import Authenticator
from haocha.auth.tokens import hash_secret, split_token, verify_secret
from haocha.auth.users import UserFile


def test_secret_hash_is_salted_and_verifies_only_the_secret():
    a, b = hash_secret("s3cret"), hash_secret("s3cret")
    assert a != b and "s3cret" not in a and a.startswith("scrypt$")
    assert verify_secret("s3cret", a) and verify_secret("s3cret", b)
    assert not verify_secret("s3cret!", a)
    assert not verify_secret("s3cret", "garbage") and not verify_secret("s3cret", "md5$x$y$z$a$b")


def test_token_carries_the_user_id():
    assert split_token("o-li.abc.def") == ("o-li.abc", "def")
    assert split_token("nodot") is None and split_token(".x") is None and split_token("x.") is None


def test_users_file_stores_no_token_and_the_token_authenticates(tmp_path):
    users = UserFile(tmp_path / "users.json")
    token = users.add("o-li", "officer", "D-ZSJ")
    raw = (tmp_path / "users.json").read_text()
    assert token.split(".", 1)[1] not in raw and "o-li" in raw
    auth = Authenticator(users)
    actor = auth.actor_for_header(f"Bearer {token}")
    assert actor is not None and (actor.id, actor.role, actor.department_id) == ("o-li", "officer", "D-ZSJ")
    assert auth.actor_for_header(f"Bearer {token}x") is None
    assert auth.actor_for_header(f"Basic {token}") is None and auth.actor_for_header(None) is None
    assert auth.actor_for_header("Bearer someone-else." + token.split(".", 1)[1]) is None


def test_rekeying_or_removing_a_user_revokes_the_old_token(tmp_path):
    users = UserFile(tmp_path / "users.json")
    auth = Authenticator(users)
    old = users.add("s-chen", "supervisor")
    assert auth.actor_for_token(old) is not None  # now cached
    new = users.add("s-chen", "supervisor")
    assert auth.actor_for_token(old) is None and auth.actor_for_token(new).role == "supervisor"
    assert UserFile(tmp_path / "users.json").remove("s-chen")
    assert auth.actor_for_token(new) is None


def test_admin_token_from_settings(tmp_path):
    auth = Authenticator(UserFile(tmp_path / "none.json"), SecretStr("boot-admin"))
    assert auth.actor_for_token("boot-admin").role == "admin"
    assert auth.actor_for_token("boot-admin2") is None


def test_an_officer_needs_a_department_and_ids_cannot_contain_dots(tmp_path):
    users = UserFile(tmp_path / "users.json")
    with pytest.raises(ValueError, match="department"):
        users.add("o-x", "officer")
    with pytest.raises(ValidationError, match="no '.'"):
        users.add("o.x", "manager")
    with pytest.raises(ValidationError):
        users.add("x", "system")  # the system actor has no token
    assert users.all() == []
