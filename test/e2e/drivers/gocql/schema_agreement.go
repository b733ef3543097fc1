// Schema agreement through the proxy (-schema-agreement-loops N): each loop runs CREATE TABLE,
// then at once an INSERT and a SELECT of the row. gocql waits for schema agreement after the
// CREATE as it always does (through the proxy it sees one node, so the proxy must have waited).
// Errors are collected, not fatal: prints one JSON line {"loops", "errors", "ms"}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/gocql/gocql"
)

type schemaAgreementReport struct {
	Loops  int      `json:"loops"`
	Errors []string `json:"errors"`
	Ms     int64    `json:"ms"`
}

func runSchemaAgreement(session *gocql.Session, keyspace, prefix string, loops int) {
	out := schemaAgreementReport{Loops: loops, Errors: []string{}}
	started := time.Now()
	for i := 0; i < loops; i++ {
		table := fmt.Sprintf("%s.%s_%d", keyspace, prefix, i)
		if err := session.Query("CREATE TABLE " + table + " (k int PRIMARY KEY, v int)").Exec(); err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("create %s: %v", table, err))
			continue
		}
		if err := session.Query("INSERT INTO "+table+" (k, v) VALUES (?, ?)", i, i).Exec(); err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("insert %s: %v", table, err))
			continue
		}
		var v int
		if err := session.Query("SELECT v FROM "+table+" WHERE k = ?", i).Scan(&v); err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("select %s: %v", table, err))
		} else if v != i {
			out.Errors = append(out.Errors, fmt.Sprintf("select %s: got %d", table, v))
		}
	}
	out.Ms = time.Since(started).Milliseconds()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
