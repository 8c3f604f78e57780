"""``python -m servicekit.token USER [ROLES...]``: print a dev JWT signed with APP_JWT_SECRET."""

import sys

from servicekit.auth import mint_user_token
from servicekit.settings import ServiceSettings


def main(argv: list[str]) -> int:
    """Mint a one-hour token for a user id and roles."""
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m servicekit.token USER_ID [ROLE ...]", file=sys.stderr)
        return 2
    user_id, *roles = argv
    print(mint_user_token(ServiceSettings(), user_id, roles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
