#!/usr/bin/env python3
"""Writes the seed corpora of the targets message_roundtrip, ixfr_apply and
api_body under fuzz/corpus/ (make_seeds.py writes the others). Run from
anywhere; files are named by content, so running it again adds nothing new.

message_roundtrip/: the message/ seeds, plus responses with compressed
names in owners and rdata, every section, OPT with options.
ixfr_apply/: TCP-framed IXFR responses (ID 0x4242, example.com, from serial
1) that change IXFR_ZONE of tests/fuzz_bodies/mod.rs, valid and not.
api_body/: one octet choosing the body (zonecast_api::fuzzing::BODIES), then JSON.
"""
import hashlib, json, os, shutil, struct

from seedlib import framed, name, root, rr, save

# --- message_roundtrip
src = os.path.join(root, "message")
for f in sorted(os.listdir(src)):
    with open(os.path.join(src, f), "rb") as fh:
        save("message_roundtrip", fh.read())

def msg(qid, flags, question, an=(), ns=(), ar=(), counts=None):
    q = b"".join(question)
    c = counts or (len(question), len(an), len(ns), len(ar))
    return struct.pack(">HHHHHH", qid, flags, *c) + q + b"".join(an) + b"".join(ns) + b"".join(ar)

def question(n, t, c=1):
    return name(n) + struct.pack(">HH", t, c)

P12 = b"\xc0\x0c"  # pointer to the question name
opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0x00008000, 8) + struct.pack(">HH", 10, 4) + b"abcd"
mx = struct.pack(">H", 10) + b"\x04mail" + P12
soa = b"\x03ns1" + P12 + b"\x04host" + P12 + struct.pack(">IIIII", 1, 3600, 600, 604800, 300)
save("message_roundtrip", msg(1, 0x8500, [question("Example.COM", 15)],
     an=[P12 + struct.pack(">HHIH", 15, 1, 300, len(mx)) + mx],
     ns=[P12 + struct.pack(">HHIH", 2, 1, 300, 6) + b"\x03ns1" + P12],
     ar=[rr("mail.example.com", 1, bytes([192, 0, 2, 1])), opt]))
save("message_roundtrip", msg(2, 0x8403, [question("nx.example.com", 1)],
     ns=[b"\xc0\x0f" + struct.pack(">HHIH", 6, 1, 60, len(soa)) + soa]))
save("message_roundtrip", msg(3, 0x8400, [question("www.example.com", 1)],
     an=[P12 + struct.pack(">HHIH", 5, 1, 300, 6) + b"\x03web" + b"\xc0\x10",
         rr(b"\x03web\xc0\x10", 1, bytes([192, 0, 2, 2])),
         rr(b"\x03web\xc0\x10", 1, bytes([192, 0, 2, 3]))]))
srv = struct.pack(">HHH", 0, 5, 5060) + name("sip.example.com")
save("message_roundtrip", msg(4, 0x8400, [question("_sip._tcp.example.com", 33)],
     an=[P12 + struct.pack(">HHIH", 33, 1, 300, len(srv)) + srv],
     ar=[rr("SIP.example.com", 28, bytes(16))]))
save("message_roundtrip", msg(5, 0x0100, [], an=[rr("a.b.c", 16, b"\x03abc\x00")]))  # no question
save("message_roundtrip", msg(6, 0x2800, [question("example.com", 6)],
     an=[rr("example.com", 6, name("ns1.example.com") + name("host.example.com") + bytes(20), cls=255)]))  # UPDATE-like
save("message_roundtrip", msg(7, 0x8400, [question("example.com", 252)],
     an=[rr("example.com", 2, name("NS1.Example.com")), rr("example.com", 2, name("ns2.example.net")),
         rr("x.example.com", 39, name("example.net")), rr("y.example.com", 35,
         struct.pack(">HH", 10, 20) + b"\x01s\x03SIP\x00" + name("_sip._udp.example.com"))]))

# --- ixfr_apply: the zone is at serial 1 with the SOA below.
def soa_rr(serial, refresh=3600, owner="example.com"):
    rdata = name("ns1.example.com") + name("host.example.com") + struct.pack(">IIIII", serial, refresh, 600, 604800, 300)
    return rr(owner, 6, rdata)

def a(owner, ip, ttl=300):
    return rr(owner, 1, bytes(ip), ttl)

def ixfr(answers, qid=0x4242):
    return struct.pack(">HHHHHH", qid, 0x8400, 1, len(answers), 0, 0) + question("example.com", 251) + b"".join(answers)

www1 = a("www.example.com", [192, 0, 2, 1])
www9 = a("www.example.com", [192, 0, 2, 9])
ns1 = rr("example.com", 2, name("ns1.example.com"))
ns2 = rr("example.com", 2, name("ns2.example.com"))
cn = rr("cn.example.com", 5, name("www.example.com"))
txt = lambda o, t: rr(o, 16, bytes([len(t)]) + t.encode())
ixfr_seeds = [
    [soa_rr(2), soa_rr(1), www1, soa_rr(2), www9, soa_rr(2)],                       # change www
    [soa_rr(3), soa_rr(1), soa_rr(2), a("new.example.com", [10, 0, 0, 1]), soa_rr(2), cn, soa_rr(3), soa_rr(3)],  # two changes
    [soa_rr(2), soa_rr(1), soa_rr(2), a("WWW.Example.COM", [192, 0, 2, 1], 60), soa_rr(2)],  # exists (other case, TTL)
    [soa_rr(2), soa_rr(1), a("nope.example.com", [1, 2, 3, 4]), soa_rr(2), soa_rr(2)],  # removes what is not there
    [soa_rr(2), soa_rr(1), soa_rr(2), a("cn.example.com", [1, 2, 3, 4]), soa_rr(2)],     # CNAME and other data
    [soa_rr(2), soa_rr(1), soa_rr(2), a("x.dn.example.com", [1, 2, 3, 4]), soa_rr(2)],   # below a DNAME
    [soa_rr(2), soa_rr(1), ns1, ns2, soa_rr(2), soa_rr(2)],                               # removes every apex NS
    [soa_rr(2), soa_rr(1), soa_rr(2), a("x.example.net", [1, 2, 3, 4]), soa_rr(2)],      # outside the zone
    [soa_rr(2), soa_rr(5), soa_rr(2), soa_rr(2)],                                         # wrong start serial
    [soa_rr(2), soa_rr(1, refresh=7200), soa_rr(2), soa_rr(2)],                           # old SOA not ours
    [soa_rr(2), soa_rr(1), soa_rr(3), soa_rr(2)],                                         # last SOA differs
    [soa_rr(2), soa_rr(1), rr("sub.example.com", 2, name("ns.sub.example.com")), a("ns.sub.example.com", [192, 0, 2, 53]),
     soa_rr(2), txt("sub.example.com", "x"), soa_rr(2)],                                  # delegation to data
    [soa_rr(2), soa_rr(1), soa_rr(2), txt("*.wild.example.com", "two"), txt("a.wild.example.com", "a"), soa_rr(2)],
    [soa_rr(2), soa_rr(1), soa_rr(2), rr("example.com", 5, name("www.example.com")), soa_rr(2)],  # CNAME at the apex
    [soa_rr(2), soa_rr(1), soa_rr(2), soa_rr(2, owner="www.example.com"), soa_rr(2)],    # second SOA
    [soa_rr(2), soa_rr(1), cn, soa_rr(2), rr("cn.example.com", 39, name("example.org")), soa_rr(2)],  # CNAME to DNAME
]
for answers in ixfr_seeds:
    save("ixfr_apply", framed(ixfr(answers)))
# the first one, one record per message
first = ixfr_seeds[0]
save("ixfr_apply", framed(ixfr(first[:1]), *[struct.pack(">HHHHHH", 0x4242, 0x8400, 0, 1, 0, 0) + r for r in first[1:]]))

# --- api_body
def body(which, obj, raw=None, pre=b""):
    save("api_body", bytes([which]) + pre + (raw if raw is not None else json.dumps(obj).encode()))

zonefile = "$ORIGIN new.example.\n$TTL 300\n@ SOA ns1 host 1 3600 600 604800 300\n@ NS ns1\nns1 A 192.0.2.1\n"
body(0, {"name": "new.example"})
body(0, {"name": "new.example.", "zonefile": zonefile, "serial_policy": "increment", "notify": ["192.0.2.1", "[2001:db8::1]:5300"],
         "allow_transfer": ["10.0.0.0/8", "key:FUZZ-Key.", "2001:db8::/32"], "notify_ns": True})
body(0, {"name": "sec.example", "kind": "secondary", "primaries": ["192.0.2.1:53"], "tsig_key": "fuzz-key"})
body(0, {"name": "sec.example", "kind": "secondary", "primaries": []})
body(0, {"name": "x", "kind": "secondary", "zonefile": zonefile})
body(0, {"name": "x", "tsig_key": "missing"})
body(0, {"name": "x", "bogus": 1})
body(1, {"serial_policy": "unixtime", "tsig_key": None, "allow_transfer": ["key:fuzz-key", "192.0.2.0/33"]})
body(1, {"notify": ["not an address"]})
body(1, {"primaries": ["192.0.2.1"]})
for path, recs in [(0, ["192.0.2.7", "192.0.2.8"]), (1, ["2001:db8::7"]), (2, ["10 mail", "20 mx.other.net."]),
                   (3, ['"v=spf1" "include:x"', "\"semi;colon\\\" quote\""]), (4, ["ns1", "ns2"]), (5, ["ns1 host 2 3600 600 604800 300"]),
                   (6, ["www"]), (7, ["0 5 5060 sip"]), (8, ['0 issue "ca.example"']), (9, ["example.org."]),
                   (10, ['1 . alpn="h2,h3" port=443']), (11, ["wild"])]:
    body(2, {"ttl": 600, "records": recs}, pre=bytes([path]))
body(2, {"records": []}, pre=b"\0")
body(2, {"records": ["192.0.2.1"]}, pre=b"\0")                       # no TTL
body(2, {"ttl": 4294967295, "records": ["192.0.2.1"]}, pre=b"\0")
body(3, [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.10"]}, {"name": "cn", "type": "CNAME"}])
body(3, {"changes": [{"name": "new", "type": "TXT", "ttl": 60, "records": ["hello"]},
                     {"name": "www.example.com.", "type": "AAAA", "records": []}]})
body(3, {"changes": [{"name": "cn", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}]})   # CNAME and other data
body(3, {"changes": [{"name": "@", "type": "NS", "records": []}]})                          # apex NS removed
body(3, {"changes": [{"name": "outside.net.", "type": "A", "ttl": 1, "records": ["1.2.3.4"]}]})
body(3, [])
body(4, {"name": "www", "type": "A", "content": "192.0.2.50", "ttl": 300})
body(4, {"name": "x.dn", "type": "A", "content": "192.0.2.50"})
body(4, {"name": "mail", "type": "MX", "content": "5 Mail.Example.Com."})
body(4, {"name": "www", "type": "ANY", "content": ""})
body(5, {"name": "transfer-key", "algorithm": "hmac-sha512", "secret": "c2VjcmV0"})
body(5, {"name": "k.", "algorithm": "HMAC-MD5."})
body(5, {"name": "k", "secret": ""})
body(5, {"name": "bad..name"})
body(6, {"name": "ci-bot", "scopes": ["records:write", "zones:read"], "zones": ["Example.com", "example.org."]})
body(6, {"name": "x", "scopes": []})
body(6, {"name": "x y", "scopes": ["admin"]})
body(7, {"zonefile": "$TTL 60\n@ SOA ns1 host 5 3600 600 604800 300\n@ NS ns1\nns1 A 192.0.2.1\nwww CNAME @\n"})
body(7, {"zonefile": "@ SOA ns1 host 5 3600 600 604800 300\n"})
body(8, {"name": "srv", "type": "SRV", "body": {"ttl": 5, "records": ["1 2 3 target"]}})
body(8, {"name": "a.b", "type": "TYPE65280", "body": {"ttl": 5, "records": ["\\# 3 010203"]}})
body(8, None, raw=b'{"name": "x", "type": "A", "body": {"ttl": 5, "records": ["1.2.3.4"]}} trailing')
print("seeds written under", root)
