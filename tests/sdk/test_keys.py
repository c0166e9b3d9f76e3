"""`/keys` and `/.well-known/jwks.json` through the official Python SDK (ory-hydra-client
1.10.3), typed end to end, and the key material checked by an independent JOSE
implementation (PyJWT on `cryptography`).

The SDK decodes every response into `JSONWebKeySet` / `JSONWebKey` and refuses unknown keys,
`null` and missing required members (`alg`, `kid`, `kty`, `use`: sdk-interop.md), so a shape it
cannot read fails here. Its model knows `crv`, `x` and `y`, so EC and OKP (Ed25519) keys are
read strictly too: no call in this file relaxes `discard_unknown_keys`.

PyJWT then loads the private keys the admin API hands out, signs with them under the public
kid, and verifies with the public halves the server publishes: both encodings (private and
public) must be ones another implementation reads, and must belong together.
"""

import base64
import datetime as dt
import json
import re
import time
import uuid

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ory_hydra_client import ApiException
from ory_hydra_client.model.json_web_key import JSONWebKey
from ory_hydra_client.model.json_web_key_set import JSONWebKeySet
from ory_hydra_client.model.json_web_key_set_generator_request import (
    JsonWebKeySetGeneratorRequest,
)

ID_TOKEN_SET = "hydra.openid.id-token"
ACCESS_TOKEN_SET = "hydra.jwt.access-token"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")  # base64url, no padding (RFC 7515 §2)

METADATA = {"alg", "kid", "kty", "use"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}

# What `POST /keys/{set}` generates per algorithm: key type, curve, the members of the private
# key and of its public half (besides METADATA), and the byte length of fixed-size members.
GENERATED = {
    "RS256": dict(
        kty="RSA", crv=None,
        private={"n", "e", "d", "p", "q", "dp", "dq", "qi"}, public={"n", "e"}, sizes={},
    ),
    "ES256": dict(
        kty="EC", crv="P-256",
        private={"crv", "x", "y", "d"}, public={"crv", "x", "y"},
        sizes={"x": 32, "y": 32, "d": 32},
    ),
    "ES512": dict(
        kty="EC", crv="P-521",
        private={"crv", "x", "y", "d"}, public={"crv", "x", "y"},
        sizes={"x": 66, "y": 66, "d": 66},
    ),
    "EdDSA": dict(
        kty="OKP", crv="Ed25519",
        private={"crv", "x", "d"}, public={"crv", "x"}, sizes={"x": 32, "d": 32},
    ),
    "HS256": dict(kty="oct", crv=None, private={"k"}, public=None, sizes={}),
}
# The public members of each asymmetric key type (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
PUBLIC_MEMBERS = {"RSA": {"n", "e"}, "EC": {"crv", "x", "y"}, "OKP": {"crv", "x"}}

# PyJWT's classes for the asymmetric kinds: its own JWK writer is the reference encoding.
PYJWT_ALGORITHM = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}
PRIVATE_TYPES = {
    "RSA": rsa.RSAPrivateKey, "EC": ec.EllipticCurvePrivateKey,
    "OKP": ed25519.Ed25519PrivateKey,
}
PUBLIC_TYPES = {
    "RSA": rsa.RSAPublicKey, "EC": ec.EllipticCurvePublicKey, "OKP": ed25519.Ed25519PublicKey,
}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4()}"


def b64decode(value):
    assert B64URL.match(value), f"not unpadded base64url: {value!r}"
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def key_dicts(key_set):
    """The keys of an SDK `JSONWebKeySet` as plain dicts, in the order the server sent them:
    exactly the members the response held (the SDK model keeps no defaults)."""
    assert isinstance(key_set, JSONWebKeySet), type(key_set)
    return [k.to_dict() for k in key_set.keys]


def by_kid(keys):
    index = {k["kid"]: k for k in keys}
    assert len(index) == len(keys), f"duplicate kids: {[k['kid'] for k in keys]}"
    return index


def error_body(exc):
    body = json.loads(exc.body)
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def assert_not_found(call, *args):
    with pytest.raises(ApiException) as e:
        call(*args)
    assert e.value.status == 404, e.value
    return error_body(e.value)


def pyjwt_jwk(algorithm, key):
    """PyJWT's own JWK for a `cryptography` key, less `key_ops` (which it adds to RSA keys and
    neither Hydra's JSONWebKey nor ours carries)."""
    jwk = algorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)
    return jwk


def public_kid(kid):
    return "public:" + kid[len("private:"):] if kid.startswith("private:") else kid


def generate(admin, set_name, alg, kid, use="sig"):
    """`POST /keys/{set}` through the SDK: 201, `Location: /keys/<set>`, the generated keys."""
    created, status, headers = admin.create_json_web_key_set(
        set_name,
        body=JsonWebKeySetGeneratorRequest(alg=alg, kid=kid, use=use),
        _return_http_data_only=False,
    )
    assert status == 201
    assert headers["Location"] == f"/keys/{set_name}"
    return key_dicts(created)


@pytest.fixture
def key_sets(admin):
    """Collects key set names; deletes them after the test (a 204 even when already gone)."""
    names = []
    yield names
    for name in names:
        admin.delete_json_web_key_set(name)


def assert_generated(keys, alg, kid, use):
    spec = GENERATED[alg]
    for k in keys:
        assert (k["alg"], k["kty"], k["use"]) == (alg, spec["kty"], use), k["kid"]
        assert k.get("crv") == spec["crv"], k["kid"]
        for member, value in k.items():
            if member not in METADATA and member != "crv":
                b64decode(value)
    if spec["public"] is None:
        # Symmetric: one `oct` key under exactly the kid asked for, at least as long as the
        # hash output (RFC 7518 §3.2).
        [key] = keys
        assert key["kid"] == kid
        assert set(key) == METADATA | spec["private"]
        assert len(b64decode(key["k"])) >= 32
        return key, None
    private, public = keys
    assert (private["kid"], public["kid"]) == (f"private:{kid}", f"public:{kid}")
    assert set(private) == METADATA | spec["private"], sorted(private)
    assert set(public) == METADATA | spec["public"], sorted(public)
    # The public half is the private key's public members, nothing else.
    assert {m: public[m] for m in spec["public"]} == {m: private[m] for m in spec["public"]}
    for member, size in spec["sizes"].items():
        assert len(b64decode(private[member])) == size, member
    if spec["kty"] == "RSA":
        assert private["e"] == "AQAB"
        assert len(b64decode(private["n"])) >= 256, "at least 2048 bits"
        assert b64decode(private["n"])[0] != 0, "n is minimal big-endian (RFC 7518 §6.3.1.1)"
    return private, public


# --- the admin API, typed -------------------------------------------------------------------


@pytest.mark.parametrize("alg", list(GENERATED))
def test_generate_get_and_delete_a_key_set(admin, key_sets, alg):
    set_name = unique(f"sdk-{alg.lower()}")
    key_sets.append(set_name)
    kid = unique("kid")

    created = generate(admin, set_name, alg, kid)
    assert_generated(created, alg, kid, "sig")

    # GET /keys/{set}: the same keys, private members included (admin only).
    assert by_kid(key_dicts(admin.get_json_web_key_set(set_name))) == by_kid(created)

    # GET /keys/{set}/{kid}: a set holding that one key (the kid's `:` travels encoded).
    for key in created:
        assert key_dicts(admin.get_json_web_key(key["kid"], set_name)) == [key]

    # DELETE /keys/{set}: 204, then the set and its keys are gone.
    data, status, _ = admin.delete_json_web_key_set(set_name, _return_http_data_only=False)
    assert (data, status) == (None, 204)
    assert_not_found(admin.get_json_web_key_set, set_name)
    for key in created:
        assert_not_found(admin.get_json_web_key, key["kid"], set_name)


def test_empty_kid_becomes_a_uuid_and_use_is_copied(admin, key_sets):
    set_name = unique("sdk-defaults")
    key_sets.append(set_name)
    created = generate(admin, set_name, "ES256", "", use="enc")
    private, public = created
    kid = private["kid"][len("private:"):]
    assert UUID4.match(kid), private["kid"]
    assert_generated(created, "ES256", kid, "enc")

    # A second key in the same set is added next to the first.
    more = generate(admin, set_name, "HS256", "")
    assert UUID4.match(more[0]["kid"]), more[0]["kid"]
    got = by_kid(key_dicts(admin.get_json_web_key_set(set_name)))
    assert got == by_kid(created + more)


def test_generation_errors_are_json(admin, key_sets):
    set_name = unique("sdk-gen-errors")
    key_sets.append(set_name)
    generate(admin, set_name, "ES256", "taken")
    for alg, kid, use, status in [
        ("RS1024", "a", "sig", 400),  # no such generator
        ("ES256", "a", "banana", 400),  # RFC 7517 §4.2: `sig` or `enc`
        ("ES256", "taken", "sig", 409),  # the kid exists in the set
    ]:
        with pytest.raises(ApiException) as e:
            admin.create_json_web_key_set(
                set_name, body=JsonWebKeySetGeneratorRequest(alg=alg, kid=kid, use=use)
            )
        assert e.value.status == status, (alg, kid, use, e.value.body)
        error_body(e.value)
    # Nothing was added by the refused requests.
    kids = [k["kid"] for k in key_dicts(admin.get_json_web_key_set(set_name))]
    assert sorted(kids) == ["private:taken", "public:taken"]


def test_put_a_set_put_a_key_and_delete(admin, key_sets):
    set_name, other = unique("sdk-put"), unique("sdk-put-src")
    key_sets.extend([set_name, other])
    pair = generate(admin, set_name, "ES256", "a")
    hmac = generate(admin, other, "HS256", "h")

    # PUT /keys/{set}: replaces the whole set (`public:a` goes); the body comes back.
    body = JSONWebKeySet(keys=[JSONWebKey(**hmac[0]), JSONWebKey(**pair[0])])
    put, status, _ = admin.update_json_web_key_set(
        set_name, body=body, _return_http_data_only=False
    )
    assert status == 200
    assert key_dicts(put) == [hmac[0], pair[0]]
    got = key_dicts(admin.get_json_web_key_set(set_name))
    assert [k["kid"] for k in got] == ["h", "private:a"], "newest first, in the body's order"
    assert got == [hmac[0], pair[0]]
    assert_not_found(admin.get_json_web_key, "public:a", set_name)

    # PUT /keys/{set}/{kid}: the bare key comes back; the path's kid wins over the body's.
    sent = JSONWebKey(**dict(pair[1], kid="body-kid"))
    updated, status, _ = admin.update_json_web_key(
        "path-kid", set_name, body=sent, _return_http_data_only=False
    )
    assert status == 200
    assert isinstance(updated, JSONWebKey)
    assert updated.to_dict() == dict(pair[1], kid="path-kid")
    assert key_dicts(admin.get_json_web_key("path-kid", set_name)) == [updated.to_dict()]
    assert_not_found(admin.get_json_web_key, "body-kid", set_name)

    # PUT /keys/{set}/{kid} on an existing kid replaces that key (new material, one row).
    fresh = generate(admin, other, "HS256", "h2")[0]
    assert fresh["k"] != hmac[0]["k"]
    replaced = admin.update_json_web_key("h", set_name, body=JSONWebKey(**fresh))
    assert replaced.to_dict() == dict(fresh, kid="h")
    assert key_dicts(admin.get_json_web_key("h", set_name)) == [dict(fresh, kid="h")]
    kids = [k["kid"] for k in key_dicts(admin.get_json_web_key_set(set_name))]
    assert sorted(kids) == ["h", "path-kid", "private:a"]

    # DELETE /keys/{set}/{kid}: 204 (also when already gone); the rest of the set stays.
    for _ in range(2):
        data, status, _ = admin.delete_json_web_key(
            "h", set_name, _return_http_data_only=False
        )
        assert (data, status) == (None, 204)
    assert_not_found(admin.get_json_web_key, "h", set_name)
    kids = [k["kid"] for k in key_dicts(admin.get_json_web_key_set(set_name))]
    assert sorted(kids) == ["path-kid", "private:a"]

    # DELETE /keys/{set}: 204 (also when already gone), then 404.
    for _ in range(2):
        data, status, _ = admin.delete_json_web_key_set(set_name, _return_http_data_only=False)
        assert (data, status) == (None, 204)
    assert_not_found(admin.get_json_web_key_set, set_name)


def test_set_names_and_kids_with_reserved_characters_round_trip(admin, key_sets):
    # The SDK percent-encodes path parameters (`/` too); the server decodes each segment.
    set_name = unique("sdk odd/set:")
    key_sets.append(set_name)
    kid = "x/y z:1"
    created, status, _ = admin.create_json_web_key_set(
        set_name,
        body=JsonWebKeySetGeneratorRequest(alg="HS256", kid=kid, use="sig"),
        _return_http_data_only=False,
    )
    assert status == 201
    [key] = key_dicts(created)
    assert key["kid"] == kid
    assert key_dicts(admin.get_json_web_key_set(set_name)) == [key]
    assert key_dicts(admin.get_json_web_key(kid, set_name)) == [key]
    assert admin.update_json_web_key(kid, set_name, body=JSONWebKey(**key)).to_dict() == key
    admin.delete_json_web_key(kid, set_name)
    assert_not_found(admin.get_json_web_key, kid, set_name)
    assert_not_found(admin.get_json_web_key_set, set_name)


def test_unknown_set_and_key_are_404_with_json_error(admin, key_sets):
    missing = unique("sdk-missing-set")
    body = assert_not_found(admin.get_json_web_key_set, missing)
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    assert_not_found(admin.get_json_web_key, "some-kid", missing)

    set_name = unique("sdk-has-keys")
    key_sets.append(set_name)
    generate(admin, set_name, "HS256", "present")
    assert_not_found(admin.get_json_web_key, "absent", set_name)


def test_put_refuses_a_key_that_does_not_fit(admin, key_sets):
    set_name = unique("sdk-bad-put")
    source = unique("sdk-bad-src")
    key_sets.extend([set_name, source])
    private, _ = generate(admin, set_name, "ES256", "a")
    other, _ = generate(admin, source, "ES256", "b")
    # A private key whose public members belong to another key.
    mismatched = JSONWebKey(**dict(private, x=other["x"], y=other["y"]))
    for call, args, body in [
        (admin.update_json_web_key, ("a", set_name), mismatched),
        (admin.update_json_web_key_set, (set_name,), JSONWebKeySet(keys=[mismatched])),
    ]:
        with pytest.raises(ApiException) as e:
            call(*args, body=body)
        assert e.value.status == 400, e.value.body
        body = error_body(e.value)
        assert private["d"] not in json.dumps(body), "an error must not echo key material"
    assert by_kid(key_dicts(admin.get_json_web_key_set(set_name)))["private:a"] == private


# --- the public JWKS ----------------------------------------------------------------------


def test_public_jwks_has_the_public_halves_of_both_signing_sets(admin, public):
    jwks = public.well_known()
    published = by_kid(key_dicts(jwks))
    assert published, "the JWKS is empty"
    for kid, key in published.items():
        assert not kid.startswith("private:"), kid
        assert not PRIVATE_MEMBERS & set(key), f"{kid} publishes {PRIVATE_MEMBERS & set(key)}"
        assert METADATA <= set(key), kid

    expected = set()
    for set_name in (ID_TOKEN_SET, ACCESS_TOKEN_SET):
        keys = key_dicts(admin.get_json_web_key_set(set_name))
        kids = {k["kid"] for k in keys}
        pairs = [k for k in keys if k["kid"].startswith("private:")]
        assert pairs, f"{set_name} has no private key"
        for key in keys:
            if key["kty"] == "oct":
                continue  # symmetric keys are never published
            half = public_kid(key["kid"])
            expected.add(half)
            assert half in published, f"{half} of {set_name} is not published"
            if half in kids:
                # The published key is the set's public key, member for member.
                assert published[half] == by_kid(keys)[half]
            else:
                spec = PUBLIC_MEMBERS[key["kty"]]
                assert published[half] == {m: key[m] for m in METADATA | spec} | {"kid": half}
    assert set(published) == expected, "the JWKS holds exactly the public halves of both sets"


# --- independent verification with PyJWT ----------------------------------------------------


def claims():
    now = int(time.time())
    return {
        "iss": "https://sdk-interop.example/", "sub": "sdk-user", "aud": "sdk-interop",
        "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4()),
    }


def load(jwk, private):
    """The JWK through PyJWT: the algorithm it names, and a `cryptography` key of the right
    kind; PyJWT's own JWK writer gives back exactly the members the server sent."""
    loaded = jwt.PyJWK(jwk)
    assert loaded.algorithm_name == jwk["alg"]
    kinds = PRIVATE_TYPES if private else PUBLIC_TYPES
    assert isinstance(loaded.key, kinds[jwk["kty"]]), type(loaded.key)
    rewritten = pyjwt_jwk(PYJWT_ALGORITHM[jwk["kty"]], loaded.key)
    assert rewritten == {m: v for m, v in jwk.items() if m not in METADATA - {"kty"}}, (
        "PyJWT re-encodes the key differently"
    )
    return loaded


def sign(private_jwk, kid):
    key = load(private_jwk, private=True)
    payload = claims()
    token = jwt.encode(payload, key.key, algorithm=key.algorithm_name, headers={"kid": kid})
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == (private_jwk["alg"], kid)
    return token, payload


def verify(token, public_jwk):
    key = load(public_jwk, private=False)
    assert jwt.get_unverified_header(token)["kid"] == public_jwk["kid"]
    return jwt.decode(
        token, key.key, algorithms=[key.algorithm_name],
        audience="sdk-interop", issuer="https://sdk-interop.example/",
    )


def assert_rejected(token, public_jwk):
    key = load(public_jwk, private=False)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience="sdk-interop")


@pytest.mark.parametrize("set_name", [ID_TOKEN_SET, ACCESS_TOKEN_SET])
def test_signing_keys_sign_what_the_public_jwks_verifies(admin, public, set_name):
    keys = by_kid(key_dicts(admin.get_json_web_key_set(set_name)))
    published = by_kid(key_dicts(public.well_known()))
    privates = [k for kid, k in keys.items() if kid.startswith("private:")]
    assert privates, f"{set_name} has no private key"
    for private in privates:
        kid = public_kid(private["kid"])
        token, payload = sign(private, kid)
        assert verify(token, published[kid]) == payload

    # A token signed by one set's key does not verify with the other set's key.
    other_set = ACCESS_TOKEN_SET if set_name == ID_TOKEN_SET else ID_TOKEN_SET
    other = [k for kid, k in by_kid(key_dicts(admin.get_json_web_key_set(other_set))).items()
             if kid.startswith("public:")]
    assert other
    token, _ = sign(privates[0], public_kid(privates[0]["kid"]))
    for wrong in other:
        assert_rejected(token, published[wrong["kid"]])


@pytest.mark.parametrize("alg", ["ES256", "ES512", "EdDSA"])
def test_generated_keys_sign_what_their_public_half_verifies(admin, key_sets, alg):
    set_name = unique(f"sdk-jws-{alg.lower()}")
    key_sets.append(set_name)
    generate(admin, set_name, alg, "one")
    generate(admin, set_name, alg, "two")

    halves = {}
    for name in ("one", "two"):
        [private] = key_dicts(admin.get_json_web_key(f"private:{name}", set_name))
        [public] = key_dicts(admin.get_json_web_key(f"public:{name}", set_name))
        assert PRIVATE_MEMBERS & set(private) and not PRIVATE_MEMBERS & set(public)
        halves[name] = (private, public)

    for name, (private, public) in halves.items():
        token, payload = sign(private, public["kid"])
        assert verify(token, public) == payload

    # Signed with `one`, presented to `two`'s key under `one`'s kid: the signature fails.
    token, _ = sign(halves["one"][0], "public:one")
    assert_rejected(token, dict(halves["two"][1], kid="public:one"))
    # And a token whose signature was altered fails with the right key too.
    head, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert_rejected(".".join([head, body, flipped]), halves["one"][1])


def self_signed_x5c(private_key):
    """`x5c` for a key: one self-signed certificate, standard base64 DER (RFC 7517 §4.7)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sdk-interop")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


def test_keys_made_by_cryptography_import_and_sign(admin, key_sets):
    """The other direction: keys that `cryptography` generated and PyJWT encoded are accepted
    by `PUT /keys/{set}` as they are, read back unchanged, and still sign for PyJWT. The RSA
    pair also carries a certificate chain (`x5c`, a list member of the SDK's model)."""
    set_name = unique("sdk-import")
    key_sets.append(set_name)
    made = {
        "RS256": (RSAAlgorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": (ECAlgorithm, ec.generate_private_key(ec.SECP256R1())),
        "ES512": (ECAlgorithm, ec.generate_private_key(ec.SECP521R1())),
        "EdDSA": (OKPAlgorithm, ed25519.Ed25519PrivateKey.generate()),
    }
    keys = []
    for alg, (algorithm, private_key) in made.items():
        for kind, key in (("private", private_key), ("public", private_key.public_key())):
            jwk = dict(pyjwt_jwk(algorithm, key), alg=alg, kid=f"{kind}:{alg}", use="sig")
            if alg == "RS256":
                jwk["x5c"] = self_signed_x5c(private_key)
            keys.append(jwk)
    put = admin.update_json_web_key_set(
        set_name, body=JSONWebKeySet(keys=[JSONWebKey(**k) for k in keys])
    )
    assert key_dicts(put) == keys
    stored = by_kid(key_dicts(admin.get_json_web_key_set(set_name)))
    assert stored == by_kid(keys)
    for alg in made:
        token, payload = sign(without_x5c(stored[f"private:{alg}"]), f"public:{alg}")
        assert verify(token, without_x5c(stored[f"public:{alg}"])) == payload
    # The certificate came back byte for byte, and names the imported key.
    [der] = stored["public:RS256"]["x5c"]
    cert = x509.load_der_x509_certificate(base64.b64decode(der))
    assert cert.public_key().public_numbers() == made["RS256"][1].public_key().public_numbers()


def without_x5c(jwk):
    return {m: v for m, v in jwk.items() if m != "x5c"}
