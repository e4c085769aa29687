#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/. Run from the repo root.

query/ and message/: well-formed queries of many shapes plus the malformed
variants of the test battery; message/ also gets responses captured from a
DNS server if one is given (`make_seeds.py 127.0.0.1:5399`).
rdata/: two octets of type then wire rdata, for every supported type.
zonefile/: small zone files exercising the syntax.
"""
import hashlib, os, random, socket, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def save(target, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"

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
print("seeds written under", root)
