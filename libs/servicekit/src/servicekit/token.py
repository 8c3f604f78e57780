"""``python -m servicekit.token USER [ROLES...]``: print a dev JWT signed with APP_JWT_SECRET."""

import sys

from servicekit.auth import mint_user_token
from servicekit.settings import ServiceSettings

_USAGE = (
    "usage: python -m servicekit.token USER_ID [ROLE ...]   (just token USER_ID [ROLE ...])\n"
    "Prints a one-hour JWT for USER_ID with ROLES (e.g. admin), signed with APP_JWT_SECRET."
)


def main(argv: list[str]) -> int:
    """Mint a one-hour token for a user id and roles."""
    if argv and argv[0] in {"-h", "--help"}:  # asked for: the answer, and success
        print(_USAGE)
        return 0
    if not argv:
        print(_USAGE, file=sys.stderr)
        return 2
    user_id, *roles = argv
    print(mint_user_token(ServiceSettings(), user_id, roles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
