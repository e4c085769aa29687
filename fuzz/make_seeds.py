#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/. Run from the repo root.

query/ and message/: well-formed queries of many shapes plus the malformed
variants of the test battery; message/ also gets responses captured from a
DNS server if one is given (`make_seeds.py 127.0.0.1:5399`).
rdata/: two octets of type then wire rdata, for every supported type.
zonefile/: small zone files exercising the syntax.
tsig/: TSIG-signed requests (good, and failing each check) and TCP-framed
response streams to the fixed query of the `tsig` target, signed with its
key and clock (`tests/fuzz_bodies/mod.rs`, FUZZ_TSIG_*).
"""
import hashlib, hmac, os, random, socket, struct, sys

from seedlib import framed, name, root, rr, save

def query(qname, qtype, edns=None, flags=0, qid=0x4242, extra=b"", counts=None):
    q = name(qname) + struct.pack(">HH", qtype, 1)
    ar = 1 if edns is not None else 0
    c = counts or (1, 0, 0, ar)
    opt = b""
    if edns is not None:
        opt = b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return struct.pack(">HHHHHH", qid, flags, *c) + q + opt + extra

names = ["example.com", "www.example.com", "WwW.ExAmPlE.cOm", "cn.example.com", "loop.example.com",
         "x.wild.example.com", "a.b.wild.example.com", "host.sub.example.com", "sub.example.com",
         "q.dn.example.com", "x.deep.dn2.example.com", "b.c.example.com", "nx.example.com", "big.example.com",
         "example.org", "."]
types = [1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 65, 255, 252, 251, 65400]
rnd = random.Random(7)
qs = []
for n in names:
    for t in rnd.sample(types, 5):
        for e in (None, 512, 1232, 4096):
            qs.append(query(n, t, e))
base = query("www.example.com", 1, 1232)
bad = [
    b"", b"\x12", base[:11], base[:12], base[:20],                 # truncated header / question
    base[:12] + b"\xc0\x0c" + base[-15:],                           # pointer loop in question
    base[:12] + b"\xc0\xff\0\1\0\1",                                # pointer past the end
    struct.pack(">HHHHHH", 1, 0, 1, 5, 5, 5) + name("a.example.com") + b"\0\1\0\1",  # counts too large
    base[:12] + b"\x40" + b"a" * 64 + b"\0\0\1\0\1",                 # bad label length
    base[:12] + b"\x80abc\0\0\1\0\1",                               # reserved label type
    query("www.example.com", 1, 1232, counts=(1, 1, 0, 0)),         # OPT in the answer section
    query("www.example.com", 1, 1232, counts=(1, 0, 0, 2), extra=b"\0" + struct.pack(">HHIH", 41, 512, 0, 0)),  # two OPTs
    query("www.example.com", 1, None, counts=(0, 0, 0, 0)),
    query("www.example.com", 1, None, counts=(2, 0, 0, 0)),
    query("www.example.com", 1, None, flags=0x8000),
    query("www.example.com", 1, None, flags=4 << 11),
    query("www.example.com", 1, 1232, extra=b"trailing"),
    query("www.example.com", 1, None) [:-2],
    base[:-11] + b"\0\0\x29\x04\xd0\x00\x01\x00\x00\x00\x04\x00\x0a\x00\x09",  # EDNS version 1, option overrunning
    base[:-2] + b"\x00\x05" + b"\x00\x0a\x00\x01\x00",              # OPT rdata with a cut option
]
for q in qs + bad:
    save("query", q)
    save("message", q)

if len(sys.argv) > 1:
    host, port = sys.argv[1].rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    for q in qs[::3]:
        s.sendto(q, (host, int(port)))
        try:
            save("message", s.recv(65535))
        except socket.timeout:
            pass

def rd(t, wire):
    save("rdata", struct.pack(">H", t) + wire)

rd(1, bytes([192, 0, 2, 1])); rd(28, bytes(range(16)))
rd(2, name("ns1.example.com")); rd(5, name("www.example.com")); rd(12, name("x.example"))
rd(39, name("example.net")); rd(15, b"\0\x0a" + name("mail.example.com"))
rd(6, name("ns1.example.com") + name("host.example.com") + struct.pack(">IIIII", 1, 3600, 900, 604800, 60))
rd(16, b"\x05hello\x00\x03a\"b"); rd(99, b"\x0bv=spf1 -all")
rd(33, struct.pack(">HHH", 10, 60, 5060) + name("sip.example.com"))
rd(257, b"\x00\x05issue" + b"letsencrypt.org"); rd(257, b"\x80\x03tbs" + b"\x00\xff")
rd(52, b"\x03\x01\x01" + bytes(range(32))); rd(44, b"\x04\x02" + bytes(range(32)))
rd(43, struct.pack(">HBB", 12345, 8, 2) + bytes(range(32)))
rd(35, struct.pack(">HH", 100, 10) + b"\x01U\x07E2U+sip\x1b!^.*$!sip:info@example.com!" + b"\x00")
rd(13, b"\x03PC1\x05Linux")
rd(29, bytes([0, 0x12, 0x16, 0x13]) + struct.pack(">III", 0x89000000, 0x80000000, 10000000))
rd(64, b"\x00\x01" + name("svc.example.com") + b"\x00\x01\x00\x06\x02h2\x02h3" + b"\x00\x03\x00\x02\x01\xbb")
rd(65, b"\x00\x01\x00" + b"\x00\x04\x00\x04\xc0\x00\x02\x01")
rd(65400, b"\x0a\x00\x00\x01"); rd(65400, b"")
rd(1, b"\x01\x02"); rd(6, b"\x00"); rd(16, b"\x05ab"); rd(64, b"\x00\x01\x00\x00\x01\x00\x05abc")

zones = [
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    "$TTL 1h\n@ IN SOA ns1.example.com. host.example.com. ( 2026112301 ; serial\n 3h 15m 2w 5m )\n  IN NS ns1\nns1 IN 300 A 192.0.2.1\nwww 60 IN AAAA 2001:db8::1\n",
    "$ORIGIN example.com.\n@ 300 SOA ns1 host 1 2 3 4 5\n@ 300 NS ns1\nns1 300 A 192.0.2.1\ntxt 300 TXT \"a \\\"quoted\\\" string\" plain \"\\065\\066\"\nu 300 TYPE65400 \\# 4 0A000001\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww CNAME ns1\nwww A 192.0.2.2\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ SOA ns1 host 2 3600 900 604800 60\n@ NS ns1\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nx.example.org. A 192.0.2.1\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\n(\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\n_sip._tcp SRV 10 60 5060 sip\nsip A 192.0.2.7\n@ CAA 0 issue \"ca.example\"\n@ HTTPS 1 . alpn=\"h2,h3\" port=443 ipv4hint=192.0.2.1\nloc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\ndn DNAME example.net.\nx.dn A 192.0.2.1\n",
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\n*.wild MX 10 mail\nsub NS ns.sub\nns.sub A 192.0.2.5\n\\.escaped\\032name A 192.0.2.6\n",
    "$INCLUDE /nonexistent\n", "$GENERATE 1-10 h$ A 192.0.2.$\n", "@ SOA\n", "\"unterminated\n", ")\n", "$TTL\n",
]
for z in zones:
    save("zonefile", z)

# TSIG (RFC 8945), with the key, clock and query of the `tsig` fuzz body.
TSIG_NOW = 1_700_000_000
TSIG_KEY = name("fuzz-key")
TSIG_SECRET = b"zonecast fuzz key"
SHA256 = name("hmac-sha256")

def tsig_vars(key, alg, t, fudge, error=0, other=b""):
    return (key.lower() + struct.pack(">HI", 255, 0) + alg.lower()
            + struct.pack(">HIH", t >> 32, t & 0xFFFFFFFF, fudge) + struct.pack(">HH", error, len(other)) + other)

def tsig_rr(key, alg, t, fudge, mac, oid, error=0, other=b""):
    rdata = (alg + struct.pack(">HIHH", t >> 32, t & 0xFFFFFFFF, fudge, len(mac)) + mac
             + struct.pack(">HHH", oid, error, len(other)) + other)
    return key + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata

def with_rr(msg, rr):
    (ar,) = struct.unpack(">H", msg[10:12])
    return msg[:10] + struct.pack(">H", ar + 1) + msg[12:] + rr

def tsig_sign(msg, key=TSIG_KEY, alg=SHA256, t=TSIG_NOW, fudge=300, prior=None, error=0, other=b"",
              secret=TSIG_SECRET, cut=None):
    """Signs like a request (prior None) or a first response; returns (signed message, MAC)."""
    data = (b"" if prior is None else struct.pack(">H", len(prior)) + prior) + msg
    mac = hmac.new(secret, data + tsig_vars(key, alg, t, fudge, error, other), hashlib.sha256).digest()
    sent = mac if cut is None else mac[:cut]
    return with_rr(msg, tsig_rr(key, alg, t, fudge, sent, struct.unpack(">H", msg[:2])[0], error, other)), mac

def tsig_sign_next(prior, unsigned, msg, t=TSIG_NOW, fudge=300):
    """Signs a later message of a sequence: prior MAC, unsigned messages, this one, timers."""
    data = struct.pack(">H", len(prior)) + prior + b"".join(unsigned) + msg + struct.pack(">HIH", t >> 32, t & 0xFFFFFFFF, fudge)
    mac = hmac.new(TSIG_SECRET, data, hashlib.sha256).digest()
    return with_rr(msg, tsig_rr(TSIG_KEY, SHA256, t, fudge, mac, struct.unpack(">H", msg[:2])[0])), mac

def axfr_answer(n):
    return (struct.pack(">HHHHHH", 0x7A7A, 0x8400, 1, 1, 0, 0) + name("example.com") + struct.pack(">HH", 252, 1)
            + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, n]))

tsig_query = query("example.com", 252, qid=0x7A7A)
signed, request_mac = tsig_sign(tsig_query)
m1, mac1 = tsig_sign(axfr_answer(1), prior=request_mac)
m3, _ = tsig_sign_next(mac1, [axfr_answer(2)], axfr_answer(3), t=TSIG_NOW + 1)
badtime_answer, _ = tsig_sign(axfr_answer(0), prior=request_mac, error=18, other=struct.pack(">HI", 0, TSIG_NOW + 999))
flipped = bytearray(signed); flipped[-10] ^= 1
tsig_seeds = [
    signed,                                                          # verifies
    tsig_sign(tsig_query, t=TSIG_NOW - 1000)[0],                     # BADTIME
    bytes(flipped),                                                  # BADSIG
    tsig_sign(tsig_query, key=name("other-key"))[0],                 # BADKEY: unknown key
    tsig_sign(tsig_query, alg=name("hmac-sha512"))[0],               # BADKEY: not the key's algorithm
    tsig_sign(tsig_query, key=name("FUZZ-Key"), alg=name("HMAC-SHA256"))[0],  # names enter the MAC lowercased
    tsig_sign(tsig_query, cut=16)[0],                                # BADTRUNC
    tsig_sign(tsig_query, cut=8)[0],                                 # FORMERR: MAC too short
    with_rr(signed, name("example.com") + struct.pack(">HHIH", 1, 1, 0, 4) + bytes([192, 0, 2, 1])),  # TSIG not last
    tsig_sign(query("example.com", 6, edns=1232, flags=4 << 11, qid=0x7A7A))[0],  # signed NOTIFY with OPT
    framed(m1, axfr_answer(2), m3),                                  # a signed sequence with an unsigned message
    framed(m1),                                                      # a single signed answer
    framed(m1, axfr_answer(2)),                                      # last message unsigned
    framed(badtime_answer),                                          # signed BADTIME answer
    framed(with_rr(axfr_answer(0), tsig_rr(TSIG_KEY, SHA256, TSIG_NOW, 300, b"", 0x7A7A, 17))),  # unsigned BADKEY
]
for seed in tsig_seeds:
    save("tsig", seed)
print("seeds written under", root)

# xfr_in/: a mode octet (even: AXFR, odd: IXFR from serial 1) then TCP-framed
# response messages to ID 0x4242 for example.com (tests/fuzz_bodies xfr_in).
def soa_rr(serial, refresh=3600):
    rdata = name("ns1.example.com") + name("host.example.com") + struct.pack(">IIIII", serial, refresh, 600, 604800, 300)
    return rr("example.com", 6, rdata)

def a_rr(owner, last):
    return rr(owner, 1, bytes([192, 0, 2, last]))

def xfr_msg(qtype, answers, question=True, qid=0x4242, rcode=0):
    q = name("example.com") + struct.pack(">HH", qtype, 1) if question else b""
    return struct.pack(">HHHHHH", qid, 0x8400 | rcode, 1 if question else 0, len(answers), 0, 0) + q + b"".join(answers)

ns = rr("example.com", 2, name("ns1.example.com"))
www = a_rr("www.example.com", 1)
xfr_seeds = [
    b"\0" + framed(xfr_msg(252, [soa_rr(5), ns, www, soa_rr(5)])),                           # AXFR, one message
    b"\0" + framed(xfr_msg(252, [soa_rr(5), ns]), xfr_msg(252, [www, soa_rr(5)], False)),   # AXFR, two messages
    b"\0" + framed(xfr_msg(252, [soa_rr(5), ns, www, soa_rr(6)])),                           # last SOA differs
    b"\0" + framed(xfr_msg(252, [ns, soa_rr(5)])),                                           # no SOA first
    b"\0" + framed(xfr_msg(252, [soa_rr(5), rr("www.example.net", 1, bytes(4)), soa_rr(5)])),  # outside the zone
    b"\0" + framed(xfr_msg(252, [soa_rr(5), a_rr("x.example.com", 1)[:-2]])),               # truncated record
    b"\0" + framed(xfr_msg(252, [], rcode=5)),                                               # REFUSED
    b"\0" + framed(xfr_msg(252, [soa_rr(5), soa_rr(5)], qid=0x1111)),                        # another ID
    b"\1" + framed(xfr_msg(251, [soa_rr(3), soa_rr(1), www, soa_rr(2), soa_rr(2), soa_rr(3), a_rr("n.example.com", 9), soa_rr(3)])),  # two changes
    b"\1" + framed(xfr_msg(251, [soa_rr(1)])),                                               # up to date
    b"\1" + framed(xfr_msg(251, [soa_rr(3), soa_rr(2), soa_rr(3), soa_rr(3)])),              # starts at the wrong serial
    b"\1" + framed(xfr_msg(251, [soa_rr(5), soa_rr(1), soa_rr(2), soa_rr(3), soa_rr(5), soa_rr(5)])),  # does not chain
    b"\1" + framed(xfr_msg(251, [soa_rr(4), ns, www, soa_rr(4)])),                           # AXFR-style
    b"\1" + framed(xfr_msg(251, [soa_rr(4)]), xfr_msg(251, [soa_rr(1)], False), xfr_msg(251, [soa_rr(4), soa_rr(4)], False)),  # one record per message
]
for seed in xfr_seeds:
    save("xfr_in", seed)
