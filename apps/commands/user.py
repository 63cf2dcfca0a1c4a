"""`haocha user add|list|remove|reset-password|disable|enable ID`: API and console users.

`add` prints the token alone on stdout (so `export HAOCHA_API_TOKEN=$(haocha user add ...)`
works) and says on stderr that it is shown once. People sign in to the console with a password:
`--password-stdin`, `--password` (asked for), or `--set-password-link` (a one-time link printed
on stdout after the token, for the person to choose their own). Tokens of people expire after
HAOCHA_PERSON_TOKEN_DAYS (30); `--machine` accounts' after HAOCHA_MACHINE_TOKEN_DAYS (0 = never).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from apps.commands.subcommand import verb_on_id
from haocha import settings as settings_mod
from haocha.auth.bearer import MIN_PASSWORD
from haocha.auth.tokens import hash_secret
from haocha.auth.users import ROLES, USER_ID, UserFile
from haocha.domain.directory import Directory


def _user_id(raw: str) -> str:
    if not USER_ID.fullmatch(raw):
        raise argparse.ArgumentTypeError(f"{raw!r}: a user id is 1-64 of A-Z a-z 0-9 . _ -")
    return raw


def register(sub) -> None:
    p = sub.add_parser("user", help="manage API users (officers, supervisors, managers, admins)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (or give them a new token); prints the token once")
    add.add_argument("user_id", metavar="ID", type=_user_id, help="1-64 of A-Z a-z 0-9 . _ -")
    add.add_argument("--role", required=True, choices=ROLES, help=f"one of: {', '.join(ROLES)}")
    add.add_argument("--department", help="a department of the directory; required for an officer")
    add.add_argument("--name", help="the person's name, shown in the console")
    add.add_argument("--machine", action="store_true", help="a script's account: its token need not expire")
    pw = add.add_mutually_exclusive_group()
    pw.add_argument("--password-stdin", action="store_true", help="read the console password from stdin")
    pw.add_argument("--password", action="store_true", help="ask for the console password")
    pw.add_argument("--set-password-link", action="store_true", help="print a one-time link to set the password")
    add.set_defaults(func=run_add)
    ls = actions.add_parser("list", help="list users (never their tokens)")
    ls.set_defaults(func=run_list)
    verb_on_id(actions, "remove", "remove a user; their token stops working", run_remove, "user_id")
    verb_on_id(actions, "reset-password", "print a one-time link to set a new console password", run_reset, "user_id")
    for verb, flag in (("disable", True), ("enable", False)):
        verb_on_id(actions, verb, f"{verb} a user (a disabled user's token and sessions stop working)", run_disable,
                   "user_id", disabled=flag)


def _users(s) -> UserFile:
    return UserFile(s.users_path(s.data_dir))


def _refuse(verb: str, message: str) -> int:
    print(f"haocha user {verb}: {message}", file=sys.stderr)
    return 1


def known_department(directory: Directory, department_id: str) -> bool:
    if department_id.startswith("supervisor:"):  # a hall's supervisor queue
        return department_id.split(":", 1)[1] in directory.halls
    return department_id in directory.departments


def link(s, token: str) -> str:
    return f"{s.worker_url}/console/#/set-password?token={token}"


def _password(args) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.password:
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return None


def run_add(args) -> int:
    s = settings_mod.load()
    if args.department:
        directory = Directory.load(s.directory_file)
        if not known_department(directory, args.department):
            return _refuse("add", f"no department {args.department} in the directory ({s.directory_file}); "
                                  f"known: {', '.join(sorted(directory.departments))}")
    elif args.role == "officer":
        return _refuse("add", "an officer belongs to a department (--department)")
    try:
        password = _password(args)
    except ValueError as exc:
        return _refuse("add", str(exc))
    if password is not None and not MIN_PASSWORD <= len(password) <= 256:
        return _refuse("add", f"a password has {MIN_PASSWORD} to 256 characters")
    days = s.machine_token_days if args.machine else s.person_token_days
    users = _users(s)
    token = users.add(args.user_id, args.role, args.department, token_days=days or None, machine=args.machine,
                      name=args.name, password_hash=hash_secret(password) if password else None)
    print(token)
    if args.set_password_link:
        print(link(s, users.issue_link(args.user_id, s.set_password_link_hours)[0]))
    where = f", {args.department}" if args.department else ""
    print(f"user {args.user_id} ({args.role}{where}): the token above is shown once; save it now "
          "(it is stored only hashed)", file=sys.stderr)
    return 0


def run_list(args) -> int:
    from apps.report.render_text import format_table

    users = _users(settings_mod.load()).all()
    rows = [[u.id, u.role, (u.department_id or "") + (" (disabled)" if u.disabled else "")] for u in users]
    print(format_table(["user", "role", "department"], rows))
    return 0


def run_remove(args) -> int:
    if not _users(settings_mod.load()).remove(args.user_id):
        return _refuse("remove", f"no user {args.user_id}")
    print(f"user {args.user_id} removed; their token no longer works")
    return 0


def run_reset(args) -> int:
    s = settings_mod.load()
    issued = _users(s).issue_link(args.user_id, s.set_password_link_hours)
    if issued is None:
        return _refuse("reset-password", f"no user {args.user_id}")
    token, expires = issued
    print(link(s, token))
    print(f"one-time link for {args.user_id}, valid until {expires.astimezone().isoformat(timespec='minutes')}",
          file=sys.stderr)
    return 0


def run_disable(args) -> int:
    if _users(settings_mod.load()).update(args.user_id, disabled=args.disabled) is None:
        return _refuse(args.action, f"no user {args.user_id}")
    print(f"user {args.user_id} {args.action}d")
    return 0
