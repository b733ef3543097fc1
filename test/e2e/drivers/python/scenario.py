"""End-to-end scenario for the Debian Python driver (cassandra-driver 3.25), run by the tests.

Connects to one address (the proxy, or the simulator directly), runs the scenario and prints one
JSON line with what it saw. Any failure exits non-zero with the reason on stderr.

Usage: scenario.py '<json options>'
  options: host, port, protocol (int), compression (null | "lz4" | "snappy" | true | false),
           keyspace, rows, bundle + token (cloud mode instead of host/port), token alone
           (username "token", for a node reached directly, or `username` when given),
           watch_table (only wait until this table appears in the metadata through events),
           guardrail (a level name: only write one row at that level and report the outcome),
           prepared_probe (a query: prepare it, run it, wait for stdin, run it again, report
           how often the driver had to re-prepare it)
"""
import datetime
import decimal
import ipaddress
import json
import logging
import socket
import sys
import time
import uuid

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import RoundRobinPolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement
from cassandra.util import Date, Duration, Time


def connect(opts):
    profile = ExecutionProfile(
        load_balancing_policy=RoundRobinPolicy(),
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
        request_timeout=opts.get("request_timeout", 30),
    )
    kwargs = dict(
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=15,
        control_connection_timeout=15,
        # The driver writes a large request (a batch of 100 statements) in several send() calls;
        # with Nagle on, the last piece waits for the server's delayed ACK, 40 ms a request.
        sockopts=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    if opts.get("protocol") is not None:
        kwargs["protocol_version"] = opts["protocol"]
    if opts.get("compression") is not None:
        kwargs["compression"] = opts["compression"]
    if opts.get("bundle"):
        cluster = Cluster(
            cloud={"secure_connect_bundle": opts["bundle"], "use_default_tempdir": True},
            auth_provider=PlainTextAuthProvider("token", opts["token"]),
            **kwargs,
        )
    else:
        if opts.get("token"):
            kwargs["auth_provider"] = PlainTextAuthProvider(opts.get("username", "token"), opts["token"])
        cluster = Cluster([opts["host"]], port=opts["port"], **kwargs)
    return cluster, cluster.connect()


def watch(opts):
    cluster, session = connect(opts)
    ks, table = opts["keyspace"], opts["watch_table"]
    print(json.dumps({"ready": True}), flush=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        meta = cluster.metadata.keyspaces.get(ks)
        if meta is not None and table in meta.tables:
            print(json.dumps({"seen": table}), flush=True)
            cluster.shutdown()
            return
        time.sleep(0.05)
    sys.exit("table %s.%s never appeared in the metadata" % (ks, table))


def guardrail(opts):
    """One write at opts["guardrail"] (ONE, ANY, LOCAL_ONE...) into <keyspace>.kv (k text, v int):
    Astra refuses it unless the proxy rewrites the level."""
    cluster, session = connect(opts)
    level = opts["guardrail"]
    insert = SimpleStatement(
        "INSERT INTO %s.kv (k, v) VALUES ('python-%s', 1)" % (opts["keyspace"], level.lower()),
        consistency_level=ConsistencyLevel.name_to_value[level],
    )
    try:
        session.execute(insert)
        out = {"written": True}
    except Exception as e:  # the test compares the class name and the server's message
        out = {"error": type(e).__name__, "message": getattr(e, "message", str(e))}
    cluster.shutdown()
    print(json.dumps(out), flush=True)


class _Messages(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def prepared_probe(opts):
    """Prepares opts["prepared_probe"] (a query with one text bind marker) and executes it; says
    "ready" and waits for a line on stdin; executes it again `rows` times and reports how often the
    driver itself had to re-prepare it (an UNPREPARED the proxy did not repair)."""
    messages = _Messages()
    logger = logging.getLogger("cassandra")
    logger.addHandler(messages)
    logger.setLevel(logging.DEBUG)
    cluster, session = connect(opts)
    statement = session.prepare(opts["prepared_probe"])
    runs = opts.get("rows", 6)
    for _ in range(runs):
        session.execute(statement, ["probe"])
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    before = sum(1 for m in messages.messages if m.startswith("Re-preparing"))
    for _ in range(runs):
        session.execute(statement, ["probe"])
    after = sum(1 for m in messages.messages if m.startswith("Re-preparing"))
    cluster.shutdown()
    print(json.dumps({"reprepared": after - before}), flush=True)


def scenario(opts):
    cluster, session = connect(opts)
    ks = opts.get("keyspace", "py_e2e")
    rows = opts.get("rows", 10000)
    conn = cluster.control_connection._connection
    out = {
        "hosts": len(cluster.metadata.all_hosts()),
        "protocol": cluster.protocol_version,
        "releaseVersion": session.execute("SELECT release_version FROM system.local").one()[0],
        # v4: a body compressor; v5: [checksummed segments, segments compressed].
        "compressed": conn.compressor is not None,
        "segments": [conn._is_checksumming_enabled, bool(conn._segment_codec.compression)]
        if cluster.protocol_version >= 5
        else None,
    }
    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
    )
    session.execute(
        "CREATE TABLE IF NOT EXISTS %s.types (id int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, "
        "dec decimal, do double, du duration, f float, i inet, sm smallint, t text, ti time, ts timestamp, tu timeuuid, "
        "ty tinyint, u uuid, vi varint, l list<int>, s set<text>, m map<text, int>, fl frozen<list<text>>, tup tuple<int, text>)" % ks
    )
    session.execute("CREATE TABLE IF NOT EXISTS %s.paged (p int, c int, v text, PRIMARY KEY (p, c))" % ks)
    session.execute("CREATE TABLE IF NOT EXISTS %s.counters (id int PRIMARY KEY, n counter)" % ks)

    values = {
        "a": "ascii",
        "b": -9007199254740993,
        "bl": b"\x00\x01\xff",
        "bo": True,
        "d": Date(datetime.date(2024, 2, 29)),
        "dec": decimal.Decimal("123.45"),
        "do": 3.5,
        "du": Duration(1, 2, 3000),
        "f": 1.25,
        "i": "10.1.2.3",
        "sm": -300,
        "t": "h\u00e9llo \u2713",
        "ti": Time(3723000000000),
        "ts": datetime.datetime(2024, 5, 6, 7, 8, 9, 123000),
        "tu": uuid.uuid1(),
        "ty": -7,
        "u": uuid.uuid4(),
        "vi": 123456789012345678901234567890,
        "l": [3, 1, 2],
        "s": {"x", "y"},
        "m": {"k": 1},
        "fl": ["a", "b"],
        "tup": (1, "one"),
    }
    cols = list(values)
    insert = session.prepare(
        "INSERT INTO %s.types (id, %s) VALUES (?, %s)" % (ks, ", ".join(cols), ", ".join("?" for _ in cols))
    )
    session.execute(insert, [1] + [values[c] for c in cols])
    select = session.prepare("SELECT %s FROM %s.types WHERE id = ?" % (", ".join(cols), ks))
    row = session.execute(select, [1]).one()
    got = row._asdict()
    mismatches = []
    for c in cols:
        want, have = values[c], got[c]
        if c == "i":
            want = ipaddress.ip_address(want)
            have = ipaddress.ip_address(have)
        if c in ("l", "fl"):
            have = list(have)
        if c == "s":
            have = set(have)
        if c == "m":
            have = dict(have)
        if want != have:
            mismatches.append("%s: %r != %r" % (c, want, have))
    if mismatches:
        sys.exit("type round trip failed: " + "; ".join(mismatches))
    out["typesRoundTrip"] = True
    bump = session.prepare("UPDATE %s.counters SET n = n + ? WHERE id = 1" % ks)
    session.execute(bump, [5])
    session.execute(bump, [-2])
    out["counter"] = session.execute("SELECT n FROM %s.counters WHERE id = 1" % ks).one().n

    # One value larger than a v5 segment (128 KiB): the request and the response each span several
    # segments of one envelope.
    large = "L" * 300000
    session.execute(session.prepare("INSERT INTO %s.types (id, t) VALUES (?, ?)" % ks), [3, large])
    got_large = session.execute("SELECT t FROM %s.types WHERE id = 3" % ks).one().t
    out["largeValue"] = len(got_large) if got_large == large else -1

    ins = session.prepare("INSERT INTO %s.paged (p, c, v) VALUES (?, ?, ?)" % ks)
    for start in range(0, rows, 100):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for i in range(start, min(start + 100, rows)):
            batch.add(ins, (i % 10, i, "v%d" % i))
        session.execute(batch)
    seen = set()
    result = session.execute(SimpleStatement("SELECT c FROM %s.paged" % ks, fetch_size=500))
    pages = 0
    while True:
        pages += 1
        for r in result.current_rows:
            if r.c in seen:
                sys.exit("row %d seen twice" % r.c)
            seen.add(r.c)
        if not result.has_more_pages:
            break
        result.fetch_next_page()
    out["rowsPaged"] = len(seen)
    out["pages"] = pages
    out["batchRows"] = session.execute("SELECT count(*) FROM %s.paged WHERE p = 3" % ks).one()[0]

    session.set_keyspace(ks)
    out["useKeyspace"] = session.execute("SELECT v FROM paged WHERE p = 1 AND c = 1").one().v
    out["metadataTables"] = sorted(cluster.metadata.keyspaces[ks].tables)
    cluster.shutdown()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    options = json.loads(sys.argv[1])
    if options.get("watch_table"):
        watch(options)
    elif options.get("guardrail"):
        guardrail(options)
    elif options.get("prepared_probe"):
        prepared_probe(options)
    else:
        scenario(options)
