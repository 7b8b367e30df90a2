"""Admin authentication: ``Authorization: Bearer <PROVENANCE_ADMIN_TOKEN>``, compared in constant time."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from provenance.errors import AuthForbidden, AuthRequired


def check_admin(request: Request, authorization: str | None) -> None:
    """Raise unless ``authorization`` carries the admin token of this app.

    Raises:
        AuthRequired: no bearer token (401).
        AuthForbidden: another token (403).
    """
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":  # RFC 9110 §11.1: the auth scheme is case-insensitive
        raise AuthRequired("an admin token is required (Authorization: Bearer ...)")
    token: str = request.app.state.admin_token
    if not hmac.compare_digest(given.strip(" ").encode(), token.encode()):
        raise AuthForbidden("the admin token is not valid")


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    check_admin(request, authorization)


Admin = Depends(require_admin)
