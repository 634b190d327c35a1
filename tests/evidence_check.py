#!/usr/bin/env python3
"""An auditor's own check of a certsched evidence pack, written from docs/evidence-format.md
only: Python 3's standard library and the `openssl` command. Usage:
    evidence_check.py PACK PINNED_PUBLIC_KEY.pem
Prints "OK position N head HASH" and exits 0, or prints the first problem and exits 4."""
import base64, hashlib, json, struct, subprocess, sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def fail(problem):
    print(problem)
    sys.exit(4)


def read_string(body, at, width):
    (n,) = struct.unpack_from(">H" if width == 2 else ">I", body, at)
    at += width
    if at + n > len(body):
        raise ValueError("a length runs past the body")
    return body[at:at + n], at + n


def events_of(body, version):
    """(position, stream, stream version) of each event of a record body."""
    if version == 1:
        position, stream_version, _time, _schema = struct.unpack_from(">QQqH", body, 0)
        stream, _ = read_string(body, 26, 2)
        return [(position, stream, stream_version)]
    position, stream_version, _time = struct.unpack_from(">QQq", body, 0)
    at = 24
    stream, at = read_string(body, at, 2)
    for _ in range(3):  # actor, command id, correlation id
        _, at = read_string(body, at, 2)
    (count,) = struct.unpack_from(">I", body, at)
    at += 4
    for _ in range(count):  # schema version, type, payload
        at += 2
        _, at = read_string(body, at, 2)
        _, at = read_string(body, at, 4)
    if at != len(body):
        raise ValueError("trailing bytes after the last event")
    return [(position + i, stream, stream_version + i) for i in range(count)]


def main(pack, pinned_key):
    checkpoint = open(pack + "/checkpoint.json", "rb").read()
    verified = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pinned_key, "-rawin",
                               "-in", pack + "/checkpoint.json", "-sigfile", pack + "/checkpoint.sig"],
                              capture_output=True)
    if verified.returncode != 0:
        fail("checkpoint.sig: not a signature of checkpoint.json by the pinned key")
    head = json.loads(checkpoint)
    chain, expected, versions = bytes(32), 1, {}
    events_file = open(pack + "/events.jsonl", "rb").read()
    for line in events_file.splitlines():
        where = "position %d" % expected
        try:
            entry = json.loads(line)
            record = base64.b64decode(entry["record_base64"], validate=True)
            length, version, crc = struct.unpack_from(">IBI", record, 0)
            body = record[9:]
            if len(body) != length or version not in (1, 2):
                fail("events.jsonl: %s: the frame's length or version is wrong" % where)
            if crc32c(record[4:5] + body) != crc:
                fail("events.jsonl: %s: the checksum does not match" % where)
            events = events_of(body, version)
        except (ValueError, KeyError, struct.error, TypeError):
            fail("events.jsonl: %s: the record is malformed" % where)
        chain = hashlib.sha256(chain + record).digest()
        if entry.get("chain_hash") != chain.hex():
            fail("events.jsonl: %s: hash chain broken" % where)
        for position, stream, stream_version in events:
            if position != expected:
                fail("events.jsonl: %s: the record starts at position %d" % (where, position))
            if stream_version != versions.get(stream, 0) + 1:
                fail("events.jsonl: position %d: stream version %d does not follow %d" %
                     (position, stream_version, versions.get(stream, 0)))
            versions[stream] = stream_version
            expected += 1
    if expected - 1 != head["position"] or chain.hex() != head["head_hash"]:
        fail("checkpoint.json: the log ends at position %d with hash %s, not the checkpoint's" % (expected - 1, chain.hex()))
    if hashlib.sha256(events_file).hexdigest() != head["events_sha256"]:
        fail("events.jsonl: altered outside its records (events_sha256)")
    print("OK position %d head %s" % (head["position"], head["head_hash"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
