"""``python -m servicekit.token [--hs256] USER [ROLES...]``: print a development user token."""

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from servicekit.auth import mint_user_token
from servicekit.devidp import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, SigningKey, user_claims
from servicekit.settings import ServiceSettings

DEV_KEY_FILE = Path("data") / "dev-jwt-key.pem"


def dev_key_file(environ: Mapping[str, str] = os.environ) -> Path:
    """Where ``just dev`` keeps its signing key (``DEV_JWT_KEY_FILE``, else in ``./data``)."""
    configured = environ.get("DEV_JWT_KEY_FILE")
    if configured:
        return Path(configured)
    data_dir = environ.get("DEV_DATA_DIR")
    return Path(data_dir) / DEV_KEY_FILE.name if data_dir else DEV_KEY_FILE


def main(argv: list[str]) -> int:
    """Mint a one-hour token for a user id and roles."""
    parser = argparse.ArgumentParser(
        prog="python -m servicekit.token",
        usage="%(prog)s USER_ID [ROLE ...] [--hs256]   (just token USER_ID [ROLE ...])",
        description="A one-hour user token signed with the dev identity provider's key, as"
        " `just dev` publishes it (--hs256: with APP_JWT_SECRET instead).",
    )
    parser.add_argument("--hs256", action="store_true", help="sign with APP_JWT_SECRET")
    parser.add_argument("user_id", metavar="USER_ID")
    parser.add_argument("roles", nargs="*", metavar="ROLE")
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2): a code, not an exception
        return int(done.code or 0)
    settings = ServiceSettings()
    if args.hs256:
        print(mint_user_token(settings, args.user_id, args.roles))
        return 0
    key = SigningKey.load_or_create(dev_key_file())
    claims = user_claims(
        args.user_id,
        args.roles,
        issuer=settings.jwt_issuer or DEV_JWT_ISSUER,
        audience=settings.jwt_audience or DEV_JWT_AUDIENCE,
    )
    print(key.sign(claims))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
