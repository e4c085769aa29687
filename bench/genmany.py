#!/usr/bin/env python3
"""Generate many small zones and a dnsperf query file spread across them.

usage: genmany.py ZONES OUTDIR [SEED]

Writes OUTDIR/zones/NAME.zone for each zone (about 20 records each),
OUTDIR/zones.list (one zone name a line, without the trailing dot) and
OUTDIR/many.queries (dnsperf format, max(100000, 10 * ZONES) lines).

Zone content varies from zone to zone: SOA, 2-4 NS (in-zone with glue in
about a third of the zones, otherwise at a hosting provider), apex A/AAAA,
MX (in-zone or at a mail provider), TXT (SPF, verification tokens), CAA,
www as a CNAME or an address, a few hosts with A/AAAA, SRV, a CNAME chain,
a wildcard (about 30% of zones) and a delegation with glue (about 20%).

Query mix, each query in a zone chosen uniformly: ~66% existing name and
type, 12% NXDOMAIN, 8% NODATA, 5% apex SOA/NS/MX/TXT; and 5% wildcard
(in a zone chosen among those with a wildcard), 4% below a delegation
(referral; among the zones with one).
"""
import os
import random
import sys

WORDS = ("acme", "alpha", "blue", "cloud", "data", "delta", "echo", "fast",
         "green", "harbor", "iron", "jade", "kilo", "lima", "metro", "nova",
         "orbit", "pixel", "quartz", "river", "solar", "terra", "ultra",
         "vector", "west", "xeno", "yellow", "zen", "shop", "mail", "home",
         "studio", "labs", "media", "travel", "bank", "garden", "photo")
TLDS = ("com", "net", "org", "io", "de", "nl", "co.uk", "example", "test")
HOSTS = ("api", "app", "blog", "shop", "cdn", "vpn", "git", "db", "img",
         "static", "portal", "admin", "dev", "stage", "m", "login", "status",
         "docs", "wiki", "crm")
NODATA_TYPES = ("MX", "TXT", "SRV", "CAA", "PTR", "NAPTR")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[2])
    count = int(sys.argv[1])
    outdir = sys.argv[2]
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    zdir = os.path.join(outdir, "zones")
    os.makedirs(zdir, exist_ok=True)

    zones = []  # (origin, answers [(name, type)], nodata [(name, type)], wildcard base, delegations)
    records_total = 0
    with open(os.path.join(outdir, "zones.list"), "w") as zl:
        for i in range(count):
            origin = f"{rnd.choice(WORDS)}{i}.{rnd.choice(TLDS)}"
            lines, info = make_zone(rnd, i, origin)
            records_total += len(lines)
            with open(os.path.join(zdir, origin + ".zone"), "w") as f:
                f.write(f"$ORIGIN {origin}.\n$TTL {rnd.choice((300, 3600, 3600, 86400))}\n")
                f.write("\n".join(lines))
                f.write("\n")
            zl.write(origin + "\n")
            zones.append(info)

    nq = max(100000, 10 * count)
    wild_zones = [z for z in zones if z[3]] or zones
    deleg_zones = [z for z in zones if z[4]] or zones
    with open(os.path.join(outdir, "many.queries"), "w") as qf:
        for _ in range(nq):
            origin, answers, nodata, wild, deleg = rnd.choice(zones)
            r = rnd.random()
            if r < 0.12:
                qf.write(f"nx{rnd.getrandbits(32):x}.{origin}. A\n")
            elif r < 0.20:
                qf.write("%s. %s\n" % rnd.choice(nodata))
            elif r < 0.25:
                # A zone with a wildcard (one of about 30%).
                origin, answers, nodata, wild, deleg = rnd.choice(wild_zones)
                if wild:
                    qf.write(f"u{rnd.getrandbits(24):x}.{wild}. {rnd.choice(('A', 'A', 'AAAA'))}\n")
                else:
                    qf.write("%s. %s\n" % rnd.choice(answers))
            elif r < 0.29:
                # A zone with a delegation (one of about 20%).
                origin, answers, nodata, wild, deleg = rnd.choice(deleg_zones)
                if deleg:
                    qf.write(f"{rnd.choice(('www', 'mail', 'x'))}.{rnd.choice(deleg)}. A\n")
                else:
                    qf.write("%s. %s\n" % rnd.choice(answers))
            elif r < 0.34:
                qf.write(f"{origin}. {rnd.choice(('SOA', 'NS', 'MX', 'TXT'))}\n")
            else:
                qf.write("%s. %s\n" % rnd.choice(answers))
    print(f"{count} zones, {records_total} records ({records_total / max(count, 1):.1f} per zone), "
          f"{nq} queries", file=sys.stderr)


def make_zone(rnd, i, origin):
    """The zone's records (relative owners) and what can be queried in it."""
    recs = []
    answers, nodata = [], []
    owners = {}  # relative owner -> set of types

    def add(owner, rtype, rdata, ttl=None):
        recs.append(f"{owner}\t{'' if ttl is None else str(ttl) + chr(9)}IN\t{rtype}\t{rdata}")
        owners.setdefault(owner, set()).add(rtype)

    def absolute(owner):
        return origin if owner == "@" else f"{owner}.{origin}"

    net = f"{(i >> 8) & 255}.{i & 255}"
    in_zone_ns = rnd.random() < 0.35
    provider = f"dnshost{rnd.randrange(50)}.net."
    mname = "ns1" if in_zone_ns else f"ns1.{provider}"
    add("@", "SOA", f"{mname} hostmaster 20261123{rnd.randrange(1, 99):02d} "
        f"{rnd.choice((3600, 7200, 14400))} 900 1209600 {rnd.choice((300, 600, 3600))}")
    if in_zone_ns:
        for n in range(1, rnd.choice((2, 2, 3)) + 1):
            add("@", "NS", f"ns{n}")
            add(f"ns{n}", "A", f"10.{net}.{n + 252}")
            if rnd.random() < 0.5:
                add(f"ns{n}", "AAAA", f"2001:db8:53:{i & 0xffff:x}::{n}")
    else:
        for n in range(1, rnd.choice((2, 3, 4)) + 1):
            add("@", "NS", f"ns{n}.{provider}")

    add("@", "A", f"10.{net}.1")
    if rnd.random() < 0.5:
        add("@", "A", f"10.{net}.2")
    if rnd.random() < 0.5:
        add("@", "AAAA", f"2001:db8:{i & 0xffff:x}::1")
    if rnd.random() < 0.7:
        add("@", "MX", "10 mail")
        add("mail", "A", f"10.{net}.25")
        if rnd.random() < 0.4:
            add("@", "MX", "20 mail2")
            add("mail2", "A", f"10.{net}.26")
    else:
        add("@", "MX", f"10 mx{rnd.randrange(1, 3)}.mailhost{rnd.randrange(20)}.com.")
    add("@", "TXT", '"v=spf1 mx -all"')
    if rnd.random() < 0.5:
        add("@", "TXT", f'"site-verification={rnd.getrandbits(96):024x}"')
    if rnd.random() < 0.3:
        add("@", "CAA", '0 issue "letsencrypt.org"')

    if rnd.random() < 0.5:
        add("www", "CNAME", "@")
    else:
        add("www", "A", f"10.{net}.80")
        if rnd.random() < 0.3:
            add("www", "AAAA", f"2001:db8:{i & 0xffff:x}::80")

    wild = None
    if rnd.random() < 0.3:
        base = rnd.choice(("apps", "users", "dyn", "edge"))
        add(f"*.{base}", "A", f"10.{net}.99")
        if rnd.random() < 0.5:
            add(f"*.{base}", "AAAA", f"2001:db8:{i & 0xffff:x}::99")
        wild = absolute(base)

    deleg = []
    if rnd.random() < 0.2:
        sub = rnd.choice(("eu", "us", "corp", "lab"))
        add(sub, "NS", f"ns1.{sub}")
        add(sub, "NS", f"ns2.{sub}")
        add(f"ns1.{sub}", "A", f"198.51.100.{i % 250 + 1}")
        add(f"ns2.{sub}", "A", f"198.51.100.{(i + 1) % 250 + 1}")
        deleg.append(absolute(sub))

    if rnd.random() < 0.2:
        add("_sip._tcp", "SRV", f"10 60 5060 {rnd.choice(('sip', 'mail', '@'))}")
        if "sip" not in owners:
            add("sip", "A", f"10.{net}.50")

    hosts = [h for h in HOSTS]
    rnd.shuffle(hosts)
    target = rnd.randint(17, 23)
    h = 0
    while len(recs) < target and h < len(hosts):
        host = hosts[h]
        h += 1
        r = rnd.random()
        if r < 0.15 and "www" in owners:
            add(host, "CNAME", "www")
        elif r < 0.6:
            add(host, "A", f"10.{net}.{100 + h}")
        elif r < 0.8:
            add(host, "A", f"10.{net}.{100 + h}")
            add(host, "AAAA", f"2001:db8:{i & 0xffff:x}::{100 + h:x}")
        else:
            add(host, "AAAA", f"2001:db8:{i & 0xffff:x}::{100 + h:x}")

    delegated = {d.split(".", 1)[0] for d in deleg}
    for owner, types in owners.items():
        if owner.startswith("*.") or owner.split(".")[-1] in delegated:
            continue
        name = absolute(owner)
        for t in sorted(types):
            if t == "SOA":
                continue
            # A CNAME answers any type; query it as A (the chain is followed).
            answers.append((name, "A" if t == "CNAME" else t))
        if "CNAME" not in types:
            missing = [t for t in NODATA_TYPES if t not in types]
            if missing:
                nodata.append((name, rnd.choice(missing)))
    return recs, (origin, answers, nodata, wild, deleg)


if __name__ == "__main__":
    main()
