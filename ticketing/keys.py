"""Ed25519 signing keys for e-tickets, kept in a directory (default `var/keys/`).

Layout: `<kid>.key` (private, PEM, mode 0600) for the current key only,
`<kid>.pub` (public, PEM) for every key still trusted, and `current` naming the
key that signs new tickets. `rotate()` makes a new current key, deletes the old
private key and keeps its public key, so tickets already issued still verify
until `prune()` drops keys whose fixtures are over. The directory comes from
`$MATCHDAY_KEYS_DIR`; the first use creates it and the first key.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.settings import get_settings
from ticketing.errors import KeyStoreError


@dataclass(frozen=True)
class SigningKey:
    """The key that signs new tickets."""

    kid: str
    private: Ed25519PrivateKey


class KeyRing:
    """The signing key and the trusted public keys of one key directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._current: SigningKey | None = None
        self._current_mtime: float | None = None
        self._public: dict[str, Ed25519PublicKey] = {}

    # -- reading -------------------------------------------------------------------------

    def current(self) -> SigningKey:
        """The key that signs new tickets (generated on first use)."""
        pointer = self.directory / "current"
        with self._lock:
            try:
                mtime = pointer.stat().st_mtime
            except FileNotFoundError:
                mtime = None
            if self._current is not None and mtime == self._current_mtime:
                return self._current
            if mtime is None:
                self._create_first_key()
                mtime = pointer.stat().st_mtime
            kid = pointer.read_text(encoding="ascii").strip()
            self._current = SigningKey(kid, self._load_private(kid))
            self._current_mtime = mtime
            self._public[kid] = self._current.private.public_key()
            return self._current

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The trusted public key with `kid`, or None."""
        key = self._public.get(kid)
        if key is not None:
            return key
        if not _is_kid(kid):
            return None
        path = self.directory / f"{kid}.pub"
        try:
            loaded = serialization.load_pem_public_key(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise KeyStoreError(f"{path}: not a PEM public key") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise KeyStoreError(f"{path}: not an Ed25519 key")
        with self._lock:
            self._public[kid] = loaded
        return loaded

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every trusted public key by key id (for offline scanners)."""
        self.current()
        keys = {}
        for path in sorted(self.directory.glob("*.pub")):
            key = self.public_key(path.stem)
            if key is not None:
                keys[path.stem] = key
        return keys

    def public_pems(self) -> dict[str, str]:
        """Every trusted public key as PEM text, by key id."""
        return {
            kid: key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode("ascii")
            for kid, key in self.public_keys().items()
        }

    def verify(self, kid: str, signature: bytes, payload: bytes) -> bool:
        """True when `signature` over `payload` is valid under the trusted key `kid`."""
        key = self.public_key(kid)
        if key is None:
            return False
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            return False
        return True

    # -- changing ------------------------------------------------------------------------

    def rotate(self) -> str:
        """Make a new signing key current; the old public key stays trusted. Returns the new kid."""
        old = self.current().kid
        with self._lock:
            kid = self._write_new_key()
            self._point_to(kid)
            (self.directory / f"{old}.key").unlink(missing_ok=True)
            self._current = None
        self.current()
        return kid

    def prune(self, keep: set[str]) -> list[str]:
        """Stop trusting public keys not in `keep` (the current key always stays); returns them."""
        current = self.current().kid
        dropped = []
        for path in sorted(self.directory.glob("*.pub")):
            kid = path.stem
            if kid != current and kid not in keep:
                path.unlink()
                self._public.pop(kid, None)
                dropped.append(kid)
        return dropped

    # -- files ---------------------------------------------------------------------------

    def _create_first_key(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise KeyStoreError(f"{self.directory}: cannot create: {exc}") from exc
        kid = self._write_new_key()
        try:
            # Only one process may create the pointer; a loser uses the winner's key.
            fd = os.open(self.directory / "current", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            (self.directory / f"{kid}.key").unlink(missing_ok=True)
            (self.directory / f"{kid}.pub").unlink(missing_ok=True)
            return
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(kid + "\n")

    def _write_new_key(self) -> str:
        kid = secrets.token_hex(4)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.directory / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (self.directory / f"{kid}.pub").write_bytes(public)
        return kid

    def _point_to(self, kid: str) -> None:
        temporary = self.directory / f".current.{kid}"
        temporary.write_text(kid + "\n", encoding="ascii")
        os.replace(temporary, self.directory / "current")

    def _load_private(self, kid: str) -> Ed25519PrivateKey:
        path = self.directory / f"{kid}.key"
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise KeyStoreError(f"{path}: the current signing key is missing") from exc
        except ValueError as exc:
            raise KeyStoreError(f"{path}: not a PEM private key") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyStoreError(f"{path}: not an Ed25519 key")
        return loaded


def _is_kid(kid: str) -> bool:
    return len(kid) == 8 and all(c in "0123456789abcdef" for c in kid)


_rings: dict[Path, KeyRing] = {}
_rings_lock = threading.Lock()


def keyring_at(directory: Path) -> KeyRing:
    """The process-wide key ring of `directory`."""
    directory = directory.resolve()
    with _rings_lock:
        ring = _rings.get(directory)
        if ring is None:
            ring = _rings[directory] = KeyRing(directory)
        return ring


def default_keyring() -> KeyRing:
    """The key ring of the settings' keys folder (`$MATCHDAY_KEYS_DIR`, default `var/keys/`)."""
    return keyring_at(get_settings().keys_dir)
