"""`haocha user add|list|remove ID`: API users. A token is printed once and stored only hashed.

`add` prints the token alone on stdout (so `export HAOCHA_API_TOKEN=$(haocha user add ...)`
works) and says on stderr that it is shown once."""

from __future__ import annotations

import sys
from typing import get_args

from haocha import settings as settings_mod
from haocha.auth.users import UserFile, UserRole

ROLES = get_args(UserRole)


def register(sub) -> None:
    p = sub.add_parser("user", help="manage API users (officers, supervisors, managers, admins)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (or give them a new token); prints the token once")
    add.add_argument("user_id", metavar="ID")
    add.add_argument("--role", required=True, choices=ROLES, help=f"one of: {', '.join(ROLES)}")
    add.add_argument("--department", help="required for an officer")
    add.set_defaults(func=run_add)
    ls = actions.add_parser("list", help="list users (never their tokens)")
    ls.set_defaults(func=run_list)
    rm = actions.add_parser("remove", help="remove a user; their token stops working")
    rm.add_argument("user_id", metavar="ID")
    rm.set_defaults(func=run_remove)


def _users() -> UserFile:
    s = settings_mod.load()
    return UserFile(s.users_path(s.data_dir))


def run_add(args) -> int:
    token = _users().add(args.user_id, args.role, args.department)
    print(token)
    where = f", {args.department}" if args.department else ""
    print(f"user {args.user_id} ({args.role}{where}): the token above is shown once; save it now "
          "(it is stored only hashed)", file=sys.stderr)
    return 0


def run_list(args) -> int:
    from apps.report.render_text import format_table

    users = _users().all()
    print(format_table(["user", "role", "department"], [[u.id, u.role, u.department_id or ""] for u in users]))
    return 0


def run_remove(args) -> int:
    if not _users().remove(args.user_id):
        print(f"haocha user remove: no user {args.user_id}", file=sys.stderr)
        return 1
    print(f"user {args.user_id} removed; their token no longer works")
    return 0
