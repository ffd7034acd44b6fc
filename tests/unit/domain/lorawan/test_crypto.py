"""Key derivations against published vectors.

McKEKey/McKey/McAppSKey/McNwkSKey: LoRaMac-node src/apps/LoRaMac/fuota-test-01/readme.md (GenAppKey
00 01 .. 0f, McAddr 0x01FFFFFF).
"""

from __future__ import annotations

import pytest

from otahub.domain.lorawan.commands import LorawanCodecError
from otahub.domain.lorawan.crypto import (
    aes128_decrypt,
    aes128_encrypt,
    decrypt_mc_key,
    encrypt_mc_key,
    mc_ke_key,
    mc_root_key,
    mc_session_keys,
)
from otahub.domain.lorawan.multicast import McGroupSetupReq

GEN_APP_KEY = bytes(range(16))
MC_KEY = bytes.fromhex("0102030405060708090A0B0C0D0E0F10")
MC_KEY_ENCRYPTED = bytes.fromhex("015E85F4B99DC0B944066CD07498330B")


def test_multicast_keys_match_fuota_test_01() -> None:
    ke_key = mc_ke_key(mc_root_key(gen_app_key=GEN_APP_KEY))
    assert ke_key == bytes.fromhex("2C578F7927A949D3B511AE8FB69145C6")
    assert decrypt_mc_key(ke_key, MC_KEY_ENCRYPTED) == MC_KEY
    assert encrypt_mc_key(ke_key, MC_KEY) == MC_KEY_ENCRYPTED
    keys = mc_session_keys(MC_KEY, 0x01FFFFFF)
    assert keys.app_s_key == bytes.fromhex("C3F6C39B6B6496C29629F7E7E9B0CD29")
    assert keys.nwk_s_key == bytes.fromhex("BB75C362588F5D65FCC61C080B76DBA3")


def test_a_setup_request_carries_the_wrapped_key() -> None:
    ke_key = mc_ke_key(mc_root_key(gen_app_key=GEN_APP_KEY))
    request = McGroupSetupReq(0, 0x01FFFFFF, encrypt_mc_key(ke_key, MC_KEY), 0, 0xFFFFFFFF)
    assert request.encode()[6:22] == MC_KEY_ENCRYPTED


def test_lorawan_1_1_root_key_uses_the_app_key_and_0x20() -> None:
    assert mc_root_key(app_key=GEN_APP_KEY) == aes128_encrypt(GEN_APP_KEY, b"\x20" + bytes(15))
    assert mc_root_key(app_key=GEN_APP_KEY) != mc_root_key(gen_app_key=GEN_APP_KEY)
    with pytest.raises(LorawanCodecError):
        mc_root_key()
    with pytest.raises(LorawanCodecError):
        mc_root_key(gen_app_key=GEN_APP_KEY, app_key=GEN_APP_KEY)


def test_keys_must_be_16_bytes() -> None:
    assert aes128_decrypt(GEN_APP_KEY, aes128_encrypt(GEN_APP_KEY, MC_KEY)) == MC_KEY
    with pytest.raises(LorawanCodecError):
        aes128_encrypt(bytes(15), MC_KEY)
    with pytest.raises(LorawanCodecError):
        mc_session_keys(MC_KEY, 1 << 32)
