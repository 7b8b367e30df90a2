"""What every command shares: settings, passwords, and errors mapped to messages and exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from provenance.config import Settings
from provenance.errors import ProvenanceError, VerificationError

EXIT_OK = 0
EXIT_FAILED = 1  # verification failed
EXIT_UNUSABLE = 2  # unusable input, usage errors
EXIT_INTERNAL = 70

err = Console(stderr=True, highlight=False)
# Tables keep their columns when piped (a file or CI log is wider than rich's default of 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def settings() -> Settings:
    return Settings()


def password(cfg: Settings, *, confirm: bool = False, what: str = "key password") -> str:
    """From ``PROVENANCE_KEY_PASSWORD`` or, on a terminal, a prompt."""
    if cfg.key_password is not None:
        return cfg.key_password.get_secret_value()
    if not sys.stdin.isatty():
        raise ProvenanceError(
            "no key password: set PROVENANCE_KEY_PASSWORD or run on a terminal", code="keystore.no-password"
        )
    return str(typer.prompt(what.capitalize(), hide_input=True, confirmation_prompt=confirm))


def exit_code_of(error: ProvenanceError) -> int:
    """The one mapping of errors to exit codes: 1 when something did not verify, 2 otherwise."""
    return EXIT_FAILED if isinstance(error, VerificationError) else EXIT_UNUSABLE


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Known errors become one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except ProvenanceError as e:
        typer.echo(f"error [{e.code}]: {e.message}", err=True)
        raise typer.Exit(exit_code_of(e)) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    except OSError as e:
        typer.echo(f"error: {e.strerror or e}: {getattr(e, 'filename', '') or ''}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as e:
        typer.echo(f"internal error: {type(e).__name__}: {e}", err=True)
        if os.environ.get("PROVENANCE_DEBUG"):
            raise
        raise typer.Exit(EXIT_INTERNAL) from None
