// A small gocql program for the end-to-end tests: it connects to one address (the proxy) with
// the protocol version and compression it is given, runs the scenario and prints one JSON line
// with what it saw. Any failure exits non-zero with the error on stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
	"gopkg.in/inf.v0"
)

type report struct {
	Hosts          int    `json:"hosts"`
	ReleaseVersion string `json:"releaseVersion"`
	RowsPaged      int    `json:"rowsPaged"`
	Pages          int    `json:"pages"`
	Counter        int64  `json:"counter"`
	TypesRoundTrip bool   `json:"typesRoundTrip"`
	BatchRows      int    `json:"batchRows"`
	UseKeyspace    string `json:"useKeyspace"`
	ProtoVersion   int    `json:"protoVersion"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	host := flag.String("host", "127.0.0.1", "")
	port := flag.Int("port", 9042, "")
	proto := flag.Int("proto", 4, "")
	compression := flag.String("compression", "", "snappy or empty")
	keyspace := flag.String("keyspace", "gocql_e2e", "")
	rows := flag.Int("rows", 10000, "")
	user := flag.String("user", "", "log in as this user (PasswordAuthenticator)")
	password := flag.String("password", "", "")
	schemaLoops := flag.Int("schema-agreement-loops", 0, "only run this many CREATE TABLE + INSERT + SELECT loops (schema_agreement.go)")
	schemaPrefix := flag.String("schema-agreement-prefix", "sa", "table name prefix of those loops")
	flag.Parse()

	cluster := gocql.NewCluster(*host)
	cluster.Port = *port
	cluster.ProtoVersion = *proto
	cluster.Consistency = gocql.LocalQuorum
	cluster.Timeout = 20 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	// The proxy looks like one node with one token: token-aware routing has nothing to do.
	cluster.PoolConfig.HostSelectionPolicy = gocql.RoundRobinHostPolicy()
	if *compression == "snappy" {
		cluster.Compressor = &gocql.SnappyCompressor{}
	}
	if *user != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: *user, Password: *password}
	}
	session, err := cluster.CreateSession()
	if err != nil {
		fail("connect: %v", err)
	}
	defer session.Close()
	if *schemaLoops > 0 {
		runSchemaAgreement(session, *keyspace, *schemaPrefix, *schemaLoops)
		return
	}

	var out report
	out.ProtoVersion = *proto
	var release string
	if err := session.Query("SELECT release_version FROM system.local").Scan(&release); err != nil {
		fail("system.local: %v", err)
	}
	out.ReleaseVersion = release
	var peers int
	iter := session.Query("SELECT peer FROM system.peers").Iter()
	var peer net.IP
	for iter.Scan(&peer) {
		peers++
	}
	if err := iter.Close(); err != nil {
		fail("system.peers: %v", err)
	}
	out.Hosts = 1 + peers

	ks := *keyspace
	mustExec(session, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(session, "CREATE TABLE IF NOT EXISTS "+ks+".types (id int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, dec decimal, do double, du duration, f float, i inet, sm smallint, t text, ti time, ts timestamp, tu timeuuid, ty tinyint, u uuid, vi varint, l list<int>, s set<text>, m map<text, int>)")
	mustExec(session, "CREATE TABLE IF NOT EXISTS "+ks+".paged (p int, c int, v text, PRIMARY KEY (p, c))")

	// Every native type, written with bind markers (gocql prepares the statement) and read back.
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	u := gocql.TimeUUID()
	id, _ := gocql.RandomUUID()
	dec := inf.NewDec(12345, 2)
	vi := new(big.Int)
	vi.SetString("123456789012345678901234567890", 10)
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	dur := gocql.Duration{Months: 1, Days: 2, Nanoseconds: 3000}
	if err := session.Query("INSERT INTO "+ks+".types (id, a, b, bl, bo, d, dec, do, du, f, i, sm, t, ti, ts, tu, ty, u, vi, l, s, m) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		1, "ascii", int64(-9007199254740993), []byte{0, 1, 2, 255}, true, day, dec, 3.5, dur, float32(1.25), net.ParseIP("10.1.2.3"), int16(-300), "héllo ✓", time.Duration(3723)*time.Second, ts, u, int8(-7), id, vi,
		[]int{3, 1, 2}, []string{"x", "y"}, map[string]int{"k": 1}).Exec(); err != nil {
		fail("insert types: %v", err)
	}
	var (
		a, t      string
		b         int64
		bl        []byte
		bo        bool
		d         time.Time
		gotDec    *inf.Dec
		do        float64
		du        gocql.Duration
		f         float32
		ip        net.IP
		sm        int16
		ti        time.Duration
		gotTs     time.Time
		tu, gotID gocql.UUID
		ty        int8
		gotVi     *big.Int
		l         []int
		s         []string
		m         map[string]int
	)
	if err := session.Query("SELECT a, b, bl, bo, d, dec, do, du, f, i, sm, t, ti, ts, tu, ty, u, vi, l, s, m FROM "+ks+".types WHERE id = ?", 1).
		Scan(&a, &b, &bl, &bo, &d, &gotDec, &do, &du, &f, &ip, &sm, &t, &ti, &gotTs, &tu, &ty, &gotID, &gotVi, &l, &s, &m); err != nil {
		fail("select types: %v", err)
	}
	checks := []bool{
		a == "ascii", b == -9007199254740993, string(bl) == string([]byte{0, 1, 2, 255}), bo, d.Equal(day),
		gotDec.Cmp(dec) == 0, do == 3.5, du == dur, f == 1.25, ip.Equal(net.ParseIP("10.1.2.3")), sm == -300, t == "héllo ✓",
		ti == time.Duration(3723)*time.Second, gotTs.Equal(ts), tu == u, ty == -7, gotID == id, gotVi.Cmp(vi) == 0,
		len(l) == 3 && l[0] == 3, len(s) == 2, m["k"] == 1,
	}
	out.TypesRoundTrip = true
	for i, ok := range checks {
		if !ok {
			fail("type check %d failed", i)
		}
	}

	mustExec(session, "CREATE TABLE IF NOT EXISTS "+ks+".counters (id int PRIMARY KEY, n counter)")
	for _, delta := range []int64{5, -2} {
		if err := session.Query("UPDATE "+ks+".counters SET n = n + ? WHERE id = 1", delta).Exec(); err != nil {
			fail("counter: %v", err)
		}
	}
	if err := session.Query("SELECT n FROM " + ks + ".counters WHERE id = 1").Scan(&out.Counter); err != nil {
		fail("counter read: %v", err)
	}

	// Paging: write the rows with batches, then read them back page by page.
	for start := 0; start < *rows; start += 100 {
		batch := session.NewBatch(gocql.UnloggedBatch)
		for i := start; i < start+100 && i < *rows; i++ {
			batch.Query("INSERT INTO "+ks+".paged (p, c, v) VALUES (?, ?, ?)", i%10, i, "v"+strconv.Itoa(i))
		}
		if err := session.ExecuteBatch(batch); err != nil {
			fail("batch: %v", err)
		}
	}
	// Page by page with the paging state handed back explicitly, as an application resuming a
	// listing would.
	seen := map[int]bool{}
	var state []byte
	for {
		it := session.Query("SELECT c FROM " + ks + ".paged").PageSize(500).PageState(state).Iter()
		var c int
		for it.Scan(&c) {
			if seen[c] {
				fail("row %d seen twice", c)
			}
			seen[c] = true
		}
		state = it.PageState()
		if err := it.Close(); err != nil {
			fail("paging: %v", err)
		}
		out.Pages++
		if len(state) == 0 || out.Pages > *rows {
			break
		}
	}
	out.RowsPaged = len(seen)
	var count int64
	if err := session.Query("SELECT count(*) FROM "+ks+".paged WHERE p = ?", 3).Scan(&count); err != nil {
		fail("count: %v", err)
	}
	out.BatchRows = int(count)

	// USE on a session of its own (gocql sends USE when the cluster has a keyspace).
	cluster.Keyspace = ks
	ksSession, err := cluster.CreateSession()
	if err != nil {
		fail("keyspace session: %v", err)
	}
	var v string
	if err := ksSession.Query("SELECT v FROM paged WHERE p = ? AND c = ?", 1, 1).Scan(&v); err != nil {
		fail("select in keyspace: %v", err)
	}
	ksSession.Close()
	out.UseKeyspace = strings.TrimPrefix(v, "v")

	enc, _ := json.Marshal(out)
	fmt.Println(string(enc))
}

func mustExec(s *gocql.Session, q string) {
	if err := s.Query(q).Exec(); err != nil {
		fail("%s: %v", q, err)
	}
}
