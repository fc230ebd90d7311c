# The seed's verifier (shared/seed/eventos-e-webhooks.md), verbatim, plus a
# small CLI so the tests can run it against our signatures and ask it for its
# own. Usage:
#   seed_verify.py verify BODY_FILE SIGNATURE SECRET_HEX   -> prints True/False
#   seed_verify.py sign   BODY_FILE SECRET_HEX             -> prints sha256=...
import hashlib
import hmac
import sys


def verify_signature(payload: bytes, signature: str, secret: str) -> bool:
    expected = hmac.new(
        secret.encode(),
        payload,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


if __name__ == "__main__":
    mode, body_file = sys.argv[1], sys.argv[2]
    with open(body_file, "rb") as f:
        body = f.read()
    if mode == "verify":
        secret = bytes.fromhex(sys.argv[4]).decode("utf-8")
        print(verify_signature(body, sys.argv[3], secret))
    else:
        secret = bytes.fromhex(sys.argv[3]).decode("utf-8")
        print("sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())
