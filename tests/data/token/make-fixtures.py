#!/usr/bin/env python3
"""Generate the token test fixtures (run once; the outputs are committed).

Independent of regward: keys come from the Python 'cryptography' package,
tokens are assembled and signed here by hand. Usage, from this directory:

    python3 make-fixtures.py

Rewrites keys/, jwks/test.json, jwks/invalid/too_many.json and
jws/cases.txt. Every key is a throwaway test key.
"""
import base64, hashlib, hmac, json, os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1700000000
ISS = "https://issuer.test"
AUD = "regward"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def uint(n, size=None):
    if size is None:
        size = (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(size, "big"))


def write(rel, data, mode="w"):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def pem_priv(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


def pem_pub(k):
    return k.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk_rsa(k, kid, **extra):
    pn = k.public_key().public_numbers()
    d = {"kty": "RSA", "kid": kid, "n": uint(pn.n), "e": uint(pn.e)}
    d.update(extra)
    return d


def jwk_ec(k, kid, crv="P-256", size=32, **extra):
    pn = k.public_key().public_numbers()
    d = {"kty": "EC", "crv": crv, "kid": kid, "x": uint(pn.x, size),
         "y": uint(pn.y, size)}
    d.update(extra)
    return d


def load_or_make(name, make):
    path = os.path.join(HERE, "keys", name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), None)
    k = make()
    write("keys/" + name, pem_priv(k))
    return k


rsa1 = load_or_make("rsa2048.pem",
                    lambda: rsa.generate_private_key(65537, 2048))
ec1 = load_or_make("ec256.pem", lambda: ec.generate_private_key(ec.SECP256R1()))
ec2 = load_or_make("ec256-other.pem",
                   lambda: ec.generate_private_key(ec.SECP256R1()))
rsa_small = load_or_make("rsa1024.pem",
                         lambda: rsa.generate_private_key(65537, 1024))
ec384 = load_or_make("ec384.pem", lambda: ec.generate_private_key(ec.SECP384R1()))
ed = ed25519.Ed25519PrivateKey.generate()
write("keys/rsa2048.pub", pem_pub(rsa1).decode())
write("keys/ec256.pub", pem_pub(ec1).decode())

# The JWKS the cases are checked against: two usable keys, five skipped.
edpub = ed.public_key().public_bytes(serialization.Encoding.Raw,
                                     serialization.PublicFormat.Raw)
test_jwks = {"keys": [
    jwk_rsa(rsa1, "rsa1", use="sig", alg="RS256"),
    jwk_ec(ec1, "ec1", use="sig", alg="ES256"),
    {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64u(edpub)},
    jwk_rsa(rsa1, "rsa-enc", use="enc"),
    jwk_rsa(rsa1, "rsa-ps", alg="PS256"),
    jwk_rsa(rsa_small, "rsa-small"),
    jwk_ec(ec384, "ec384", crv="P-384", size=48),
]}
write("jwks/test.json", json.dumps(test_jwks, indent=1) + "\n")
write("jwks/invalid/too_many.json",
      json.dumps({"keys": [jwk_ec(ec1, "k%d" % i) for i in range(65)]}) + "\n")
write("jwks/invalid/dup_kid.json", json.dumps(
    {"keys": [jwk_ec(ec1, "same"), jwk_rsa(rsa1, "same")]}) + "\n")
short = jwk_ec(ec1, "short")
short["x"] = b64u(unb64u(short["x"])[1:])
write("jwks/invalid/ec_x_short.json", json.dumps({"keys": [short]}) + "\n")
off = jwk_ec(ec1, "off")
yb = bytearray(unb64u(off["y"]))
yb[31] ^= 1
off["y"] = b64u(bytes(yb))
write("jwks/invalid/ec_off_curve.json", json.dumps({"keys": [off]}) + "\n")
even = jwk_rsa(rsa1, "even")
even["e"] = uint(65536)
write("jwks/invalid/rsa_even_e.json", json.dumps({"keys": [even]}) + "\n")


def sign(alg, key, si):
    if alg == "RS256":
        return key.sign(si, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(si, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "ES256DER":
        return key.sign(si, ec.ECDSA(hashes.SHA256()))
    raise ValueError(alg)


def claims(**kw):
    c = {"iss": ISS, "sub": "someone", "aud": AUD, "exp": NOW + 300,
         "nbf": NOW - 10, "iat": NOW - 10}
    for k, v in kw.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def enc(obj):
    if isinstance(obj, (bytes, str)):
        raw = obj if isinstance(obj, bytes) else obj.encode()
    else:
        raw = json.dumps(obj, separators=(",", ":")).encode()
    return b64u(raw)


def tok(hdr, payload, key=None, alg=None):
    si = enc(hdr) + "." + enc(payload)
    sig = sign(alg, key, si.encode()) if key is not None else b""
    return si + "." + b64u(sig)


RS = {"alg": "RS256", "typ": "JWT", "kid": "rsa1"}
ES = {"alg": "ES256", "typ": "JWT", "kid": "ec1"}
cases = []


def case(name, expect, token):
    cases.append("%s %s %s" % (name, expect, token))


case("valid_rs256", "ok", tok(RS, claims(), rsa1, "RS256"))
case("valid_es256", "ok", tok(ES, claims(), ec1, "ES256"))
case("valid_aud_array", "ok",
     tok(ES, claims(aud=["other", AUD]), ec1, "ES256"))
case("valid_float_times", "ok", tok(ES, claims(
    exp=NOW + 300.5, nbf=NOW - 0.5, iat=NOW - 1.25), ec1, "ES256"))
case("valid_no_nbf_iat", "ok",
     tok(ES, claims(nbf=None, iat=None), ec1, "ES256"))
case("valid_exp_in_leeway", "ok", tok(ES, claims(exp=NOW - 59), ec1, "ES256"))
case("valid_nbf_in_leeway", "ok", tok(ES, claims(nbf=NOW + 60), ec1, "ES256"))
case("valid_extra_headers_ignored", "ok", tok(
    dict(ES, jku="https://evil.test/jwks", x5u="https://evil.test/c"),
    claims(), ec1, "ES256"))

# alg none, with and without a signature part
si = enc({"alg": "none", "typ": "JWT"}) + "." + enc(claims())
case("alg_none_empty_sig", "alg_none", si + ".")
case("alg_none_with_sig", "alg_none",
     si + "." + b64u(sign("RS256", rsa1, si.encode())))
case("alg_none_two_parts", "bad_format", si)
case("alg_none_mixed_case", "alg_none",
     enc({"alg": "nOnE"}) + "." + enc(claims()) + ".")
case("alg_none_with_kid", "alg_none",
     enc({"alg": "none", "kid": "rsa1"}) + "." + enc(claims()) + ".")

# HS256 "signed" with the public key's PEM bytes as the HMAC secret
for name, k, kid in (("rsa", rsa1, "rsa1"), ("ec", ec1, "ec1")):
    si = enc({"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + enc(claims())
    mac = hmac.new(pem_pub(k), si.encode(), hashlib.sha256).digest()
    case("hs256_%s_pubkey_pem" % name, "alg_hmac", si + "." + b64u(mac))
si = enc({"alg": "HS512", "kid": "rsa1"}) + "." + enc(claims())
case("hs512", "alg_hmac", si + "." + b64u(
    hmac.new(pem_pub(rsa1), si.encode(), hashlib.sha512).digest()))

case("rs256_for_ec_key", "alg_mismatch",
     tok(dict(RS, kid="ec1"), claims(), rsa1, "RS256"))
case("es256_for_rsa_key", "alg_mismatch",
     tok(dict(ES, kid="rsa1"), claims(), ec1, "ES256"))
for alg in ("PS256", "ES384", "RS512", "EdDSA", "ES256K"):
    case("alg_" + alg.lower(), "alg_unsupported",
         tok(dict(RS, alg=alg), claims(), rsa1, "RS256"))

case("expired", "expired", tok(ES, claims(exp=NOW - 61), ec1, "ES256"))
case("expired_at_leeway", "expired",
     tok(ES, claims(exp=NOW - 60), ec1, "ES256"))
case("nbf_future", "not_yet_valid",
     tok(ES, claims(nbf=NOW + 61), ec1, "ES256"))
case("iat_future", "not_yet_valid",
     tok(ES, claims(iat=NOW + 3600), ec1, "ES256"))
case("wrong_issuer", "wrong_issuer",
     tok(ES, claims(iss="https://evil.test"), ec1, "ES256"))
case("wrong_issuer_same_length", "wrong_issuer",
     tok(ES, claims(iss="https://issuer.tesx"), ec1, "ES256"))
case("wrong_issuer_trailing_slash", "wrong_issuer",
     tok(ES, claims(iss=ISS + "/"), ec1, "ES256"))
case("wrong_audience_string", "wrong_audience",
     tok(ES, claims(aud="someone-else"), ec1, "ES256"))
case("wrong_audience_array", "wrong_audience",
     tok(ES, claims(aud=["a", "b", "regward2"]), ec1, "ES256"))
case("wrong_audience_prefix", "wrong_audience",
     tok(ES, claims(aud="regwar"), ec1, "ES256"))
case("unknown_kid", "unknown_kid",
     tok(dict(ES, kid="nope"), claims(), ec1, "ES256"))
case("no_kid_two_keys", "unknown_kid",
     tok({"alg": "ES256"}, claims(), ec1, "ES256"))
case("signed_by_other_key", "bad_signature",
     tok(ES, claims(), ec2, "ES256"))

good = tok(ES, claims(), ec1, "ES256")
h, p, s = good.split(".")
case("tampered_payload", "bad_signature",
     h + "." + enc(claims(sub="admin")) + "." + s)
case("tampered_header", "bad_signature",
     enc(dict(ES, typ="JOSE")) + "." + p + "." + s)
case("es256_der_signature", "bad_signature",
     tok(ES, claims(), ec1, "ES256DER"))
case("es256_sig_63_bytes", "bad_signature", h + "." + p + "." +
     b64u(unb64u(s)[:63]))
case("empty_signature", "bad_signature", h + "." + p + ".")
rgood = tok(RS, claims(), rsa1, "RS256")
rh, rp, rs = rgood.split(".")
case("rs256_sig_truncated", "bad_signature", rh + "." + rp + "." +
     b64u(unb64u(rs)[:255]))

case("crit_header", "crit",
     tok(dict(ES, crit=["exp"], exp=1), claims(), ec1, "ES256"))
case("crit_b64", "crit",
     tok(dict(ES, crit=["b64"], b64=False), claims(), ec1, "ES256"))
case("header_duplicate_alg", "bad_format", tok(
    '{"alg":"ES256","kid":"ec1","alg":"none"}', claims(), ec1, "ES256"))
case("payload_duplicate_iss", "bad_format", tok(
    ES, '{"iss":"%s","aud":"%s","exp":%d,"iss":"https://evil.test"}' %
    (ISS, AUD, NOW + 300), ec1, "ES256"))
case("header_trailing_garbage", "bad_format",
     tok('{"alg":"ES256","kid":"ec1"}x', claims(), ec1, "ES256"))
case("payload_trailing_garbage", "bad_format",
     tok(ES, json.dumps(claims()) + "{}", ec1, "ES256"))
case("token_trailing_part", "bad_format", good + ".e30")
case("token_trailing_dot", "bad_format", good + ".")
case("token_padding", "bad_format", h + "." + p + "." + s + "=")
case("header_not_object", "bad_format", tok('["ES256"]', claims(), ec1, "ES256"))
case("payload_not_object", "bad_format", tok(ES, '"hi"', ec1, "ES256"))
case("payload_array", "bad_format", tok(ES, '[1]', ec1, "ES256"))
case("header_alg_number", "bad_format",
     tok({"alg": 256, "kid": "ec1"}, claims(), ec1, "ES256"))
case("header_alg_missing", "bad_format",
     tok({"kid": "ec1"}, claims(), ec1, "ES256"))
case("header_kid_number", "bad_format",
     tok({"alg": "ES256", "kid": 1}, claims(), ec1, "ES256"))
case("header_nul_in_alg", "bad_format",
     tok('{"alg":"ES256\\u0000x","kid":"ec1"}', claims(), ec1, "ES256"))
case("empty_header", "bad_format", "." + p + "." + s)
case("empty_payload", "bad_format", h + ".." + s)
# Non-canonical base64url: change the unused low bits of the last char.
last = h[-1]
alt = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
if len(h) % 4 != 0:
    idx = alt.index(last)
    case("header_noncanonical_b64", "bad_format",
         h[:-1] + alt[idx ^ 1] + "." + p + "." + s)

for name, kw in (
        ("exp_string", dict(exp=str(NOW + 300))),
        ("exp_bool", dict(exp=True)),
        ("exp_array", dict(exp=[])),
        ("exp_missing", dict(exp=None)),
        ("nbf_string", dict(nbf="0")),
        ("iat_object", dict(iat={})),
        ("iss_number", dict(iss=1)),
        ("iss_missing", dict(iss=None)),
        ("aud_number", dict(aud=7)),
        ("aud_missing", dict(aud=None)),
        ("aud_empty_array", dict(aud=[])),
        ("aud_array_number", dict(aud=[AUD, 1])),
        ("sub_number", dict(sub=5)),
        ("jti_array", dict(jti=["x"]))):
    case("claims_" + name, "bad_claim", tok(ES, claims(**kw), ec1, "ES256"))

big = tok(ES, claims(pad="x" * 12500), ec1, "ES256")
assert len(big) > 16384
case("oversize", "bad_format", big)
fits = tok(ES, claims(pad="x" * 12000), ec1, "ES256")
assert len(fits) <= 16384
case("large_but_fits", "ok", fits)

# distribution's docs/spec/auth/jwt.md example: its published signature
# does not verify under the published key, so keep the spec's header and
# payload and sign them again with the spec's private key "d".
spec_key = ec.derive_private_key(int.from_bytes(unb64u(
    "R7OnbfMaD5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA"), "big"), ec.SECP256R1())
with open(os.path.join(HERE, "docker-spec.jwt")) as f:
    sh, sp, _ = f.read().strip().split(".")
write("docker-spec-resigned.jwt", sh + "." + sp + "." +
      b64u(sign("ES256", spec_key, (sh + "." + sp).encode())) + "\n")

write("jws/cases.txt",
      "# name expect token (now=%d iss=%s aud=%s leeway=60, jwks/test.json)\n"
      % (NOW, ISS, AUD) + "\n".join(cases) + "\n")
print("wrote %d cases" % len(cases))
