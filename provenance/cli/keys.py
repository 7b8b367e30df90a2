"""``provenance keys``: create and list source keys (secp256k1) and log keys (Ed25519)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provenance.checkpoint import LogSigner
from provenance.cli.common import errors_to_exit, out, password, settings
from provenance.errors import KeyStoreError

if TYPE_CHECKING:
    pass


app = typer.Typer(help="Manage source keys and log keys.", no_args_is_help=True)

KeysDir = Annotated[Path | None, typer.Option("--keys-dir", help="Default: $PROVENANCE_DATA_DIR/keys")]


@app.command("new")
def new(
    name: Annotated[str, typer.Option(help="File name (without extension)")] = "source",
    kind: Annotated[str, typer.Option(help="source (secp256k1) or log (Ed25519)")] = "source",
    origin: Annotated[str, typer.Option(help="Log keys: the C2SP key name / log origin")] = "",
    keys_dir: KeysDir = None,
) -> None:
    """Create an encrypted key (file mode 0600). Password: PROVENANCE_KEY_PASSWORD or prompt."""
    from provenance.keys import new_log_key, new_source_key

    with errors_to_exit():
        cfg = settings()
        folder = keys_dir or cfg.keys_dir
        if kind == "source":
            info = new_source_key(folder, name, password(cfg, confirm=True))
            out.print(f"source key {info.name}: {info.public}\n{info.path}")
        elif kind == "log":
            info, key = new_log_key(folder, name, password(cfg, confirm=True))
            vkey = LogSigner(origin or name, key).verifier_key()
            (folder / f"{name}.vkey").write_text(vkey + "\n")
            out.print(f"log key {info.name}: {vkey}\n{info.path}")
        else:
            raise KeyStoreError(f"unknown key kind {kind!r} (source or log)", code="keystore.bad-kind")


@app.command("list")
def list_(keys_dir: KeysDir = None) -> None:
    """List keys with their public parts (no password needed)."""
    from provenance.keys import list_keys

    with errors_to_exit():
        folder = keys_dir or settings().keys_dir
        keys = list_keys(folder)
        if not keys:
            out.print(f"no keys in {folder}")
        for info in keys:
            public = info.public
            vkey = info.path.with_suffix(".vkey")
            if info.kind == "log" and vkey.exists():
                public = vkey.read_text().strip()
            out.print(f"{info.kind:6} {info.name:20} {public}")


@app.command("show")
def show(
    name: str,
    keys_dir: KeysDir = None,
    check: Annotated[bool, typer.Option(help="Decrypt to prove the password works")] = False,
) -> None:
    """Show one key's public part, file and encryption."""
    from provenance.keys import load_log_key, read_source_keystore

    with errors_to_exit():
        cfg = settings()
        folder = keys_dir or cfg.keys_dir
        source, log = folder / f"{name}.json", folder / f"{name}.pem"
        if source.exists():
            ks = read_source_keystore(source)
            out.print(f"kind     source (secp256k1, keystore v3, kdf {ks['crypto'].get('kdf')})")
            out.print(f"address  0x{ks['address'].removeprefix('0x')}")
            out.print(f"file     {source} (mode {oct(source.stat().st_mode & 0o777)})")
            if check:
                from provenance.keys import load_source_key

                load_source_key(source, password(cfg))
                out.print("password ok")
        elif log.exists():
            out.print("kind     log (Ed25519, PKCS#8 encrypted PEM)")
            vkey = log.with_suffix(".vkey")
            if vkey.exists():
                out.print(f"verifier {vkey.read_text().strip()}")
            out.print(f"file     {log} (mode {oct(log.stat().st_mode & 0o777)})")
            if check:
                load_log_key(log, password(cfg))
                out.print("password ok")
        else:
            raise KeyStoreError(f"no key named {name!r} in {folder}", code="keystore.not-found")
