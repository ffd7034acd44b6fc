"""TS005 multicast key derivations (AES-128 via ``cryptography``; keys are 16-byte ``bytes``).

The TS004 v2 data-block MIC of FragSessionSetupReq is ``fec.data_block_mic``.

Multicast keys [LoRaMac-node ``LmhpRemoteMcastSetup.c``/``fuota-test-01``, LBM ``smtc_modem_crypto.c``]:

    McRootKey = aes128_encrypt(GenAppKey, 00 * 16)           LoRaWAN 1.0.x devices
              = aes128_encrypt(AppKey, 20 | 00 * 15)          LoRaWAN 1.1 devices
    McKEKey   = aes128_encrypt(McRootKey, 00 * 16)
    McKey_encrypted (McGroupSetupReq) = aes128_decrypt(McKEKey, McKey); the device re-encrypts to get McKey
    McAppSKey = aes128_encrypt(McKey, 01 | McAddr(4 LE) | 00 * 11); McNwkSKey the same with 02
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from otahub.domain.lorawan.commands import LorawanCodecError

ZERO_BLOCK = bytes(16)


def _key(name: str, value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != 16:
        raise LorawanCodecError(f"{name} must be 16 bytes")
    return value


def aes128_encrypt(key: bytes, block: bytes) -> bytes:
    """AES-128-ECB of one 16-byte block."""
    encryptor = Cipher(algorithms.AES(_key("key", key)), modes.ECB()).encryptor()
    return encryptor.update(_key("block", block)) + encryptor.finalize()


def aes128_decrypt(key: bytes, block: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(_key("key", key)), modes.ECB()).decryptor()
    return decryptor.update(_key("block", block)) + decryptor.finalize()


def mc_root_key(*, gen_app_key: bytes | None = None, app_key: bytes | None = None) -> bytes:
    """McRootKey from GenAppKey (LoRaWAN 1.0.x) or AppKey (1.1): give exactly one."""
    if (gen_app_key is None) == (app_key is None):
        raise LorawanCodecError("give either gen_app_key (LoRaWAN 1.0.x) or app_key (1.1)")
    if gen_app_key is not None:
        return aes128_encrypt(gen_app_key, ZERO_BLOCK)
    assert app_key is not None
    return aes128_encrypt(app_key, b"\x20" + bytes(15))


def mc_ke_key(root_key: bytes) -> bytes:
    """McKEKey, the key-encryption key of McGroupSetupReq, from McRootKey."""
    return aes128_encrypt(root_key, ZERO_BLOCK)


def encrypt_mc_key(ke_key: bytes, mc_key: bytes) -> bytes:
    """McKey_encrypted for McGroupSetupReq (the server's side: an AES *decrypt*, as the spec defines it)."""
    return aes128_decrypt(ke_key, mc_key)


def decrypt_mc_key(ke_key: bytes, mc_key_encrypted: bytes) -> bytes:
    """McKey as the device recovers it from McKey_encrypted."""
    return aes128_encrypt(ke_key, mc_key_encrypted)


@dataclass(frozen=True)
class McSessionKeys:
    app_s_key: bytes
    nwk_s_key: bytes


def mc_session_keys(mc_key: bytes, mc_addr: int) -> McSessionKeys:
    """McAppSKey and McNwkSKey of a multicast group."""
    if not 0 <= mc_addr < 1 << 32:
        raise LorawanCodecError("mc_addr must fit 32 bits")
    tail = mc_addr.to_bytes(4, "little") + bytes(11)
    return McSessionKeys(aes128_encrypt(mc_key, b"\x01" + tail), aes128_encrypt(mc_key, b"\x02" + tail))
