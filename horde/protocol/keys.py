"""CURVE key pairs on disk, and the keys each side of a distributed run holds (ADR 0024).

Key files are ZeroMQ's certificate format (`zmq.auth`), so the keys `horde keys generate` writes work with any
ZeroMQ tool, and a key made elsewhere (`zmq.auth.create_certificates`) works with horde. A master holds its key
pair and the public keys of the workers it admits; a worker holds its key pair and the master's public key.

`--auth-token` is kept as a shortcut for a trusted network: both key pairs are derived from the token (scrypt), so
the token itself never travels and every byte is encrypted, but everyone who knows it shares one worker key.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

SECRET_SUFFIX = ".key_secret"
PUBLIC_SUFFIX = ".key"
KEY_BYTES = 40
"""A CURVE key in Z85 text, as ZeroMQ's certificates and `User-Id` carry it."""
_TOKEN_SALT = b"horde auth token v1/"


class KeyFileError(Exception):
    """A key file is missing, unreadable or not a key: one line for the person running horde."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    public: bytes
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class MasterKeys:
    """The master's pair and where the authorised worker keys are read from (None: the one key in `authorised`)."""

    pair: KeyPair
    authorised: frozenset[bytes] = frozenset()
    authorised_path: str | None = None

    def is_authorised(self, public: bytes) -> bool:
        """Read from disk again on each connection when keys come from a path, so a key removed from the folder
        (revoked) is refused from the next connection on without restarting the master; a connected worker's key
        is checked again on a timer (`protocol/revocation.py`, ADR 0039)."""
        if public in self.authorised:
            return True
        if self.authorised_path is None:
            return False
        try:
            return public in read_public_keys(self.authorised_path)
        except KeyFileError:
            return False


@dataclass(frozen=True, slots=True)
class WorkerKeys:
    pair: KeyPair
    master_public: bytes


def generate(directory: str, names: list[str]) -> list[tuple[str, str]]:
    """A key pair per name in `directory` (made if missing, owner-only), as `(public file, secret file)`.

    Never overwrites: replacing a key by accident locks its holder out (or lets a new holder in).
    """
    folder = Path(directory)
    for name in names:
        for suffix in (PUBLIC_SUFFIX, SECRET_SUFFIX):
            if (folder / f"{name}{suffix}").exists():
                raise KeyFileError(f"{folder / (name + suffix)} already exists (horde keys never overwrites a key)")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        written = []
        previous = os.umask(0o077)  # the files are owner-only from the moment they exist
        try:
            for name in names:
                public, secret = zmq.auth.create_certificates(folder, name)
                written.append((str(public), str(secret)))
        finally:
            os.umask(previous)
        for public, secret in written:
            os.chmod(public, 0o600)
            os.chmod(secret, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot write keys to {directory}: {exc.strerror or exc}") from None
    return written


def write_public_key(path: str, public: bytes) -> None:
    """A public key file in ZeroMQ's certificate format, owner-only like every file horde writes a key to."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f'metadata\ncurve\n    public-key = "{public.decode()}"\n')


def _load(path: str) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError):
        raise KeyFileError(f"{path} is not a readable key file (make keys with: horde keys generate DIR)") from None
    if len(public) != KEY_BYTES or (secret is not None and len(secret) != KEY_BYTES):
        raise KeyFileError(f"{path}: a key must be {KEY_BYTES} characters of Z85")
    try:
        z85.decode(public)
        if secret is not None:
            z85.decode(secret)
    except ValueError:
        raise KeyFileError(f"{path}: not a Z85 key") from None
    return public, secret


def read_key_pair(path: str) -> KeyPair:
    """A secret key file (`NAME.key_secret`), which holds both halves of the pair."""
    public, secret = _load(path)
    if secret is None:
        raise KeyFileError(f"{path} holds no secret key (give the .key_secret file)")
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by others than its owner: chmod 600 {path}")
    return KeyPair(public, secret)


def read_public_key(path: str) -> bytes:
    return _load(path)[0]


def read_public_keys(path: str) -> frozenset[bytes]:
    """The public keys of every `*.key` file in a directory, or of one file."""
    if os.path.isdir(path):
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise KeyFileError(f"cannot read the key folder {path}: {exc.strerror}") from None
        return frozenset(read_public_key(os.path.join(path, n)) for n in names if n.endswith(PUBLIC_SUFFIX))
    return frozenset({read_public_key(path)})


def public_keys_signature(path: str) -> tuple[tuple[str, int, int, int], ...]:
    """What changes when a key file is added, removed or rewritten: each `*.key` file's name, inode, size and
    modification time. Comparing it costs a directory listing and a stat per file, not a parse of every key."""
    try:
        if not os.path.isdir(path):
            st = os.stat(path)
            return ((path, st.st_ino, st.st_size, st.st_mtime_ns),)
        with os.scandir(path) as entries:
            found = []
            for entry in entries:
                if entry.name.endswith(PUBLIC_SUFFIX):
                    st = entry.stat()
                    found.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns))
    except OSError as exc:
        raise KeyFileError(f"cannot read the worker keys {path}: {exc.strerror}") from None
    return tuple(sorted(found))


def _derived_pair(token: str, role: bytes) -> KeyPair:
    seed = hashlib.scrypt(token.encode(), salt=_TOKEN_SALT + role, n=2**14, r=8, p=1, dklen=32)
    secret = z85.encode(seed)
    return KeyPair(zmq.curve_public(secret), secret)


def keys_from_token(token: str) -> tuple[MasterKeys, WorkerKeys]:
    """Both sides' keys from one shared token: the master's pair, and the one worker pair it authorises."""
    master, worker = _derived_pair(token, b"master"), _derived_pair(token, b"worker")
    return MasterKeys(master, frozenset({worker.public})), WorkerKeys(worker, master.public)


def master_keys(secret_key: str, worker_keys: str) -> MasterKeys:
    pair = read_key_pair(secret_key)
    if not os.path.exists(worker_keys):
        raise KeyFileError(f"the worker keys {worker_keys} do not exist")
    if not read_public_keys(worker_keys):
        raise KeyFileError(f"no worker key (*.key) in {worker_keys}: no worker could join")
    return MasterKeys(pair, authorised_path=worker_keys)


def worker_keys(secret_key: str, master_public_key: str) -> WorkerKeys:
    return WorkerKeys(read_key_pair(secret_key), read_public_key(master_public_key))
