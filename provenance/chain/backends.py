"""Where the chain is: in process (eth-tester + py-evm), a managed anvil node, or any JSON-RPC URL.

Every backend gives a :class:`web3.Web3` and the local accounts that sign our transactions;
the registry client above it does not know which one it talks to. Transactions are always
signed locally (eth-account, coincurve) and sent raw, so the same code path serves a dev node
and a public testnet.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from provenance.errors import ChainError, RpcUnavailable

# Public, well-known development keys of anvil's default mnemonic ("test test ... junk").
# They hold funds only on local dev chains; never use them anywhere else.
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
)
ANVIL_CHAIN_ID = 31337
_PROJECT = Path(__file__).resolve().parents[2]


class Backend(Protocol):
    name: str
    w3: Web3
    accounts: list[LocalAccount]

    @property
    def rpc_url(self) -> str | None:
        """Where another process (a verifier, `cast`) reaches this chain; None if in-process."""
        ...

    def supervise(self) -> str | None:
        """Called every second by the service: repair what can be repaired (a managed node that
        died is reaped and started again); a note of what was done, or None."""
        ...

    def close(self) -> None: ...


@dataclass
class EmbeddedBackend:
    """An in-process chain (eth-tester with py-evm): fast, isolated, gone when the process ends."""

    name: str = "embedded"
    w3: Web3 = field(init=False)
    accounts: list[LocalAccount] = field(init=False)
    tester: Any = field(init=False)

    @property
    def rpc_url(self) -> str | None:
        return None

    def __post_init__(self) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from eth_tester.backends.pyevm.main import get_default_account_keys
        from web3.providers.eth_tester import EthereumTesterProvider

        self.tester = EthereumTester(PyEVMBackend())
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self.accounts = [Account.from_key(k.to_bytes()) for k in get_default_account_keys()[:3]]

    def supervise(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def anvil_binary() -> Path:
    """The anvil binary from the project's node_modules (the npm @foundry-rs/anvil package)."""
    candidates = [
        _PROJECT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        _PROJECT / "node_modules" / "@foundry-rs" / "anvil-linux-arm64" / "bin" / "anvil",
        _PROJECT / "node_modules" / ".bin" / "anvil",
    ]
    for path in candidates:
        if path.exists():
            return path
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ChainError(
        "anvil not found: run `make setup` (npm ci installs @foundry-rs/anvil)", code="chain.anvil-missing"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM anvil when the process that started it dies
    (even by SIGKILL), so a crashed service does not leave a node holding the port."""
    import ctypes

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_is_free(port: int) -> bool:
    """Nobody listens there (connections in TIME_WAIT from a previous run do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class AnvilNode:
    """An anvil process we start, health-check and stop; state persisted to ``state_file``."""

    state_file: Path | None = None
    port: int = 0
    chain_id: int = ANVIL_CHAIN_ID
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        self._reap_orphan()
        if self.port == 0:
            self.port = free_port()
        elif not port_is_free(self.port):
            # Never mistake another node (a leftover, or someone else's) for the one we manage.
            raise ChainError(
                f"port {self.port} on 127.0.0.1 is in use; stop what runs there or pick "
                "another PROVENANCE_ANVIL_PORT",
                code="chain.port-in-use",
            )
        args = [
            str(anvil_binary()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
        ]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            # --state loads the file at start and dumps it at exit; the interval also dumps it
            # every second so a crash loses at most the last second of blocks.
            args += ["--state", str(self.state_file), "--state-interval", "1"]
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            if self.log_file:
                log.close()  # type: ignore[union-attr]
        if self.state_file is not None:
            self._pidfile().write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChainError(
                    f"anvil exited with status {self.process.returncode} at start", code="chain.anvil-failed"
                )
            if self.healthy():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ChainError(f"anvil did not answer on {self.url} within {timeout} s", code="chain.anvil-failed")

    def _pidfile(self) -> Path:
        assert self.state_file is not None
        return self.state_file.with_suffix(".pid")

    def _reap_orphan(self) -> None:
        """Stop an anvil we started for this state file in a process that died without stopping it."""
        if self.state_file is None or not self._pidfile().exists():
            return
        try:
            pid = int(self._pidfile().read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (ValueError, OSError):
            return
        if cmdline and cmdline[0].endswith(b"anvil") and str(self.state_file).encode() in cmdline:
            os.kill(pid, signal.SIGTERM)  # anvil dumps its state on SIGTERM
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)

    def healthy(self) -> bool:
        try:
            w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 1}))
            return int(w3.eth.chain_id) == self.chain_id
        except Exception:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil dumps its state), then SIGKILL if it lingers."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would (tests of RPC outages)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class AnvilBackend:
    """A managed anvil node; its dev accounts sign."""

    node: AnvilNode
    name: str = "anvil"
    w3: Web3 = field(init=False)
    accounts: list[LocalAccount] = field(init=False)

    def __post_init__(self) -> None:
        if self.node.process is None:
            self.node.start()
        self.w3 = rpc_web3(self.node.url)
        self.accounts = [Account.from_key(k) for k in ANVIL_DEV_KEYS]

    @property
    def rpc_url(self) -> str | None:
        return self.node.url

    def supervise(self) -> str | None:
        """Reap a node that exited (no zombie is left) and start it again: same port, same
        state file, so the registry and every anchor are still there."""
        proc = self.node.process
        if proc is None or proc.poll() is None:
            return None
        status = proc.returncode
        self.node.start()
        return f"the managed anvil node exited with status {status}; started again on {self.node.url}"

    def close(self) -> None:
        self.node.stop()


@dataclass
class RpcBackend:
    """Any JSON-RPC endpoint; ``accounts`` are keys the operator supplied (keystore or env)."""

    url: str
    accounts: list[LocalAccount]
    name: str = "rpc"
    w3: Web3 = field(init=False)

    def __post_init__(self) -> None:
        self.w3 = rpc_web3(self.url)

    @property
    def rpc_url(self) -> str | None:
        return self.url

    def supervise(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def rpc_web3(url: str, timeout: float = 10.0) -> Web3:
    # cache_allowed_requests: web3 8 otherwise asks eth_chainId before every call.
    import requests
    from web3.providers.rpc.utils import ExceptionRetryConfiguration

    # Retry a refused connection (a node restarting), never a read timeout: a node that hung
    # once hangs again, and web3's default (5 tries of everything) made one hang cost 6 timeouts.
    retry = ExceptionRetryConfiguration(errors=(requests.ConnectionError,), retries=3)
    w3 = Web3(
        Web3.HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            cache_allowed_requests=True,
            exception_retry_configuration=retry,
        )
    )
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # harmless on non-PoA chains
    return w3


@contextlib.contextmanager
def rpc_errors(url: str = "") -> Iterator[None]:
    """Connection-level failures become :class:`RpcUnavailable` (retried by callers)."""
    import requests
    from eth_abi.exceptions import DecodingError
    from web3.exceptions import BadFunctionCallOutput, BadResponseFormat

    try:
        yield
    except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError) as e:
        raise RpcUnavailable(f"JSON-RPC endpoint {url or ''} unreachable: {type(e).__name__}") from e
    except requests.HTTPError as e:  # a proxy's 502 in front of a node: the node is not there
        status = e.response.status_code if e.response is not None else "error"
        raise RpcUnavailable(f"JSON-RPC endpoint {url or ''} answered HTTP {status}") from e
    except (json.JSONDecodeError, BadResponseFormat, BadFunctionCallOutput, DecodingError) as e:
        # What a broken or lying node sends; its text is not quoted (it could be anything).
        raise ChainError(
            f"the JSON-RPC node's answer is not well-formed ({type(e).__name__}): the node is not believed",
            code="chain.bad-answer",
        ) from e
