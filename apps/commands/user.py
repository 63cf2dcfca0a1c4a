"""`haocha user add|list|remove`: API users. A token is printed once and stored only hashed."""

from __future__ import annotations

from haocha import settings as settings_mod
from haocha.auth.users import UserFile


def register(sub) -> None:
    p = sub.add_parser("user", help="manage API users (officers, supervisors, managers, admins)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (or give them a new token); prints the token once")
    add.add_argument("--id", required=True)
    add.add_argument("--role", required=True, choices=["officer", "supervisor", "manager", "admin"])
    add.add_argument("--department", help="required for an officer")
    add.set_defaults(func=run_add)
    ls = actions.add_parser("list", help="list users (never their tokens)")
    ls.set_defaults(func=run_list)
    rm = actions.add_parser("remove", help="remove a user; their token stops working")
    rm.add_argument("--id", required=True)
    rm.set_defaults(func=run_remove)


def _users() -> UserFile:
    s = settings_mod.load()
    return UserFile(s.users_path(s.data_dir))


def run_add(args) -> int:
    token = _users().add(args.id, args.role, args.department)
    print(token)
    return 0


def run_list(args) -> int:
    for u in _users().all():
        print(f"{u.id:20} {u.role:10} {u.department_id or ''}")
    return 0


def run_remove(args) -> int:
    if not _users().remove(args.id):
        print(f"no user {args.id}")
        return 1
    return 0
