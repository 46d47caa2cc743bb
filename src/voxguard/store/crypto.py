"""Voiceprints at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from Settings.

A key check value (a known plaintext encrypted with the key) is written on first start; a later
start with another key fails loudly instead of producing undecryptable voiceprints.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from voxguard.config import Settings
from voxguard.errors import ConfigurationError, EncryptionKeyMismatch

_CHECK_PLAINTEXT = b"voxguard-key-check-v1"
KEY_FILE_NAME = "voxguard.key"


class VoiceprintCipher:
    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "VOXGUARD_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise EncryptionKeyMismatch(
                "A stored voiceprint cannot be decrypted with the configured key."
            ) from exc

    def check_value(self) -> str:
        return self._fernet.encrypt(_CHECK_PLAINTEXT).decode()

    def verify_check_value(self, stored: str) -> None:
        try:
            ok = self._fernet.decrypt(stored.encode()) == _CHECK_PLAINTEXT
        except InvalidToken:
            ok = False
        if not ok:
            raise EncryptionKeyMismatch(
                "The database was written with a different encryption key than "
                "VOXGUARD_ENCRYPTION_KEY; set the original key (voiceprints cannot be read "
                "otherwise)."
            )


def resolve_key(settings: Settings) -> str:
    """The configured key, or in development a key file created once in ``data_dir``."""
    if settings.encryption_key:
        return settings.encryption_key
    if not settings.is_development:
        raise ConfigurationError("VOXGUARD_ENCRYPTION_KEY must be set outside development.")
    return persisted_secret(
        settings.data_dir / KEY_FILE_NAME, lambda: Fernet.generate_key().decode()
    )


def persisted_secret(path: Path, generate: Callable[[], str]) -> str:
    """The secret in ``path``, created once (owner-only permissions) if it does not exist.

    Written whole to a private temporary file, then linked into place: processes starting at
    once on one data dir all end up with the first one's secret, never a partial file.
    """
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = generate()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(temporary)
    return secret
