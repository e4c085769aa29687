"""What the seed scripts (make_seeds.py, make_depth_seeds.py) share:
saving a corpus file named by its content, and DNS wire building blocks."""
import hashlib, os, struct

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

def rr(owner, rtype, rdata, ttl=300, cls=1):
    """A record; `owner` as text, or as wire octets (a compression pointer)."""
    o = owner if isinstance(owner, bytes) else name(owner)
    return o + struct.pack(">HHIH", rtype, cls, ttl, len(rdata)) + rdata

def framed(*msgs):
    """Messages with the two-octet TCP length before each."""
    return b"".join(struct.pack(">H", len(m)) + m for m in msgs)
