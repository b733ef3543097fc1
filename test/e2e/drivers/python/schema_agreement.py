"""Schema agreement through the proxy, for the Python driver (run by the tests).

Usage: schema_agreement.py '<json options>'
  options: as scenario.py's connection options (host, port, protocol, compression, token), plus
           keyspace, prefix (table names: <prefix>_<i>) and loops.

Each loop: CREATE TABLE, then at once an INSERT and a SELECT of the row. The driver waits for
schema agreement after the CREATE as it always does (through the proxy it sees one node, so the
proxy must have waited). Errors are collected, not fatal: prints one JSON line
{"loops": n, "errors": [...], "ms": total}.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import connect  # noqa: E402


def main():
    opts = json.loads(sys.argv[1])
    cluster, session = connect(opts)
    ks, prefix, loops = opts["keyspace"], opts["prefix"], opts["loops"]
    errors = []
    started = time.time()
    for i in range(loops):
        table = "%s.%s_%d" % (ks, prefix, i)
        try:
            session.execute("CREATE TABLE %s (k int PRIMARY KEY, v int)" % table)
            session.execute("INSERT INTO %s (k, v) VALUES (%d, %d)" % (table, i, i))
            row = session.execute("SELECT v FROM %s WHERE k = %d" % (table, i)).one()
            if row is None or row.v != i:
                errors.append("%s: row not read back" % table)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append("%s: %s" % (type(e).__name__, e))
    cluster.shutdown()
    print(json.dumps({"loops": loops, "errors": errors, "ms": int((time.time() - started) * 1000)}), flush=True)


if __name__ == "__main__":
    main()
