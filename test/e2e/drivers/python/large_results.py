"""Large results through the proxy with the Debian Python driver (cassandra-driver 3.25).

Reads every row of <keyspace>.<table> (partition k = 1, clustering c = 0 .. rows - 1) in pages of
`fetch_size` rows, each page one large RESULT Rows answer, and checks each row's value against
the one the test wrote: expected_value(c, size(c)) below, the same function as the test's.
Prints one JSON line: rows read, pages, bytes of values, the protocol and compression in use.

Usage: large_results.py '<json options>'
  options: host, port, protocol (int), compression (false | "lz4" | "snappy"), token, keyspace,
           table, rows, fetch_size
"""
import json
import os
import sys

from cassandra.query import SimpleStatement

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import connect  # noqa: E402


def value_size(c):
    # As largeValueSize in test/e2e/large-results.test.ts.
    return 1000 + (c * 7919) % 9000


def expected_value(c):
    # As largeValue in test/e2e/large-results.test.ts: a prefix naming the row, then letters from
    # a Park-Miller generator seeded with c (they hardly compress).
    prefix = "row-%d:" % c
    letters = [prefix]
    state = c + 1
    for _ in range(len(prefix), value_size(c)):
        state = (state * 48271) % 2147483647
        letters.append(chr(97 + (state // 256) % 26))
    return "".join(letters)


def main():
    opts = json.loads(sys.argv[1])
    # Pages of large answers: more time per request than scenario.py's default.
    cluster, session = connect(dict(opts, request_timeout=60))
    statement = SimpleStatement(
        "SELECT c, v FROM %s.%s WHERE k = 1" % (opts["keyspace"], opts["table"]),
        fetch_size=opts["fetch_size"],
    )
    result = session.execute(statement)
    rows = 0
    pages = 0
    value_bytes = 0
    while True:
        pages += 1
        for row in result.current_rows:
            if row.c != rows:
                sys.exit("row %d came back as row %d" % (rows, row.c))
            if row.v != expected_value(row.c):
                sys.exit("row %d: value of %d characters differs" % (row.c, len(row.v)))
            value_bytes += len(row.v)
            rows += 1
        if not result.has_more_pages:
            break
        result.fetch_next_page()
    conn = cluster.control_connection._connection
    report = {
        "rows": rows,
        "pages": pages,
        "valueBytes": value_bytes,
        "protocol": cluster.protocol_version,
        # v4: a body compressor; v5: [checksummed segments, segments compressed].
        "compressed": conn.compressor is not None,
        "segments": [conn._is_checksumming_enabled, bool(conn._segment_codec.compression)]
        if cluster.protocol_version >= 5
        else None,
    }
    cluster.shutdown()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
