#!/usr/bin/python3
"""Prints the 6-digit TOTP code (RFC 6238: HOTP of RFC 4226, HMAC-SHA1, 30-second steps) of a base32 seed,
for the current step plus OFFSET (default 0): bench-totp.py SEED [OFFSET]."""
import base64, hashlib, hmac, struct, sys, time

secret = sys.argv[1]
offset = int(sys.argv[2]) if len(sys.argv) > 2 else 0
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + offset), hashlib.sha1).digest()
start = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[start:start + 4])[0] & 0x7FFFFFFF) % 1000000))
