#!/usr/bin/env python3
"""Independent verifier of a Keel audit log directory, written from
docs/FORMATS.md ("audit log records and checkpoints") alone.

usage: verify.py DIR PUBKEY_BASE64 [WITNESS_FILE]
Prints "OK <events>" and exits 0, or prints "BAD seq=<n>: <why>" and exits 1.
"""
import base64, hashlib, json, os, re, sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

SUFFIX = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')
KINDS = {1: {"event", "checkpoint", "gap", "recovery"}, 2: {"event", "checkpoint", "gap", "recovery", "rollback"}}


def bad(seq, why):
    print(f"BAD seq={seq}: {why}")
    sys.exit(1)


def read_witness(path):
    if not os.path.exists(path):
        return None
    data = open(path, "rb").read()
    if len(data) > 4096:
        bad(0, "witness file too large")
    pairs = json.loads(data, object_pairs_hook=lambda p: p)
    names = [k for k, _ in pairs]
    if sorted(names) != sorted(["format", "log", "seq", "hash", "time"]):
        bad(0, "witness members")
    w = dict(pairs)
    if w["format"] != "keel.audit.witness/v1":
        bad(0, "witness format")
    return w


def main():
    d, pub_b64 = sys.argv[1], sys.argv[2]
    witness = read_witness(sys.argv[3]) if len(sys.argv) > 3 else None
    raw = base64.b64decode(pub_b64)
    key = Ed25519PublicKey.from_public_bytes(raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    names = sorted(n for n in os.listdir(d) if re.fullmatch(r"audit-\d{20}\.jsonl", n))
    prev = None
    events = 0
    for name in names:
        data = open(os.path.join(d, name), "rb").read()
        if data and not data.endswith(b"\n"):
            bad(prev["seq"] + 1 if prev else 1, "torn last line")
        for i, line in enumerate(data.split(b"\n")[:-1]):
            want = prev["seq"] + 1 if prev else 1
            m = SUFFIX.search(line)
            if len(line) < 75 or not m or len(line) - m.start() != 75:
                bad(want, "no hash suffix")
            body = line[:-75] + b"}"
            if hashlib.sha256(body).hexdigest() != m.group(1).decode():
                bad(want, "hash mismatch")
            rec = json.loads(body)
            if rec["v"] not in KINDS or rec["kind"] not in KINDS[rec["v"]]:
                bad(rec["seq"], "unknown version or kind")
            if prev is None:
                if witness and rec["log"] != witness["log"]:
                    bad(rec["seq"], "not the witnessed log")
                if rec["seq"] == 1:
                    if rec["prev"] != "0" * 64:
                        bad(1, "first prev is not 64 zeros")
                elif rec["kind"] != "checkpoint" or rec["checkpoint"]["reason"] != "rotate":
                    bad(rec["seq"], "a log after retention must start with the rotate checkpoint that opens a segment")
            else:
                if rec["log"] != prev["log"]:
                    bad(want, "other log")
                if rec["seq"] != want:
                    bad(want, f"seq {rec['seq']} after {prev['seq']}")
                if rec["prev"] != prev["hash"]:
                    bad(want, "prev does not match")
            first = int(name[len("audit-"):-len(".jsonl")])
            if i == 0 and rec["seq"] != first:
                bad(first, f"segment {name} starts with record {rec['seq']}")
            if rec["kind"] == "checkpoint":
                cp = rec["checkpoint"]
                if cp["key_id"] != key_id:
                    bad(rec["seq"], "unknown key")
                msg = "%s\n%d\n%s\n%s\n" % (rec["log"], rec["seq"], rec["prev"], cp["reason"])
                if rec["v"] == 1:
                    msg = "keel-audit-checkpoint-v1\n" + msg
                else:
                    msg = "keel-audit-checkpoint-v2\n" + msg + rec["time"] + "\n"
                try:
                    key.verify(base64.b64decode(cp["sig"]), msg.encode())
                except InvalidSignature:
                    bad(rec["seq"], "bad signature")
            elif rec["kind"] == "event":
                events += 1
            rec["hash"] = m.group(1).decode()
            if witness and rec["seq"] == witness["seq"] and rec["hash"] != witness["hash"]:
                bad(rec["seq"], "not the witnessed checkpoint")
            prev = rec
    if prev is None:
        bad(1, "empty log")
    if witness and prev["seq"] < witness["seq"]:
        bad(prev["seq"] + 1, f"log ends before the witnessed seq {witness['seq']}")
    if prev["kind"] != "checkpoint" or prev["checkpoint"]["reason"] != "close":
        bad(prev["seq"] + 1, "log does not end with the close checkpoint")
    print(f"OK {events}")


main()
