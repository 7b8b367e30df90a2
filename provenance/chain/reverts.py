"""The registry's refusals: a revert payload named by the contract's custom error.

Kept free of web3 so that the light chain reader (:mod:`provenance.chain.registry_reads`) and
the transaction layer (:mod:`provenance.chain.transactions`) name a revert the same way.
"""

from __future__ import annotations

from typing import Any

from provenance.chain.artifact import registry_artifact
from provenance.errors import ChainError


class ContractRevert(ChainError):
    """The registry refused a call; ``error`` is its custom error's name."""

    def __init__(self, error: str, args: dict[str, Any] | None = None) -> None:
        self.error = error
        self.error_args = args or {}
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.error_args.items())
        super().__init__(f"ProvenanceRegistry refused: {error}({shown})", code=f"chain.revert.{error}")


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def named_revert(raw: bytes | None) -> ContractRevert | None:
    """The custom error ``raw`` (a revert payload) encodes, with its arguments; None when its
    selector is none of the registry's errors."""
    if raw is None or len(raw) < 4:
        return None
    known = registry_artifact().errors.get(raw[:4])
    if not known:
        return None
    name, arg_names, types = known
    from eth_abi.abi import decode as abi_decode  # only on a revert: eth_abi costs 0.27 s to import

    try:
        values: tuple[Any, ...] = abi_decode(types, raw[4:])
    except Exception:  # the name is what callers act on; arguments that do not decode are dropped
        values = ()
    return ContractRevert(name, dict(zip(arg_names, values, strict=False)))
