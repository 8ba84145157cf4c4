package main

import (
	"strings"
	"testing"
)

func TestPrivilegesMatch(t *testing.T) {
	cases := []struct {
		objectType      string
		granted, wanted []string
		want            bool
	}{
		{"table", []string{"SELECT", "INSERT"}, []string{"INSERT", "SELECT"}, true},
		{"table", []string{"SELECT", "INSERT"}, []string{"SELECT"}, false},
		{"table", nil, []string{}, true},
		{"schema", []string{"CREATE", "USAGE"}, []string{"ALL"}, true},
		{"schema", []string{"USAGE"}, []string{"ALL"}, false},
		// MAINTAIN exists from PostgreSQL 17 on: ALL matches with and without it.
		{"table", []string{"DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"}, []string{"ALL"}, true},
		{"table", []string{"DELETE", "INSERT", "MAINTAIN", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"}, []string{"ALL"}, true},
		{"database", []string{"CONNECT", "TEMPORARY"}, []string{"CONNECT"}, false},
	}
	for _, c := range cases {
		if got := privilegesMatch(c.objectType, c.granted, c.wanted); got != c.want {
			t.Errorf("privilegesMatch(%s, %v, %v) = %v, want %v", c.objectType, c.granted, c.wanted, got, c.want)
		}
	}
}

func TestValidatePrivileges(t *testing.T) {
	if err := validatePrivileges("sequence", []string{"USAGE", "SELECT", "UPDATE"}); err != nil {
		t.Fatal(err)
	}
	if err := validatePrivileges("sequence", []string{"INSERT"}); err == nil {
		t.Fatal("INSERT on a sequence accepted")
	}
	if err := validatePrivileges("database", []string{"TEMP"}); err == nil || !strings.Contains(err.Error(), "TEMPORARY") {
		t.Fatalf("TEMP should point to TEMPORARY, got %v", err)
	}
}

func TestGrantSQL(t *testing.T) {
	all := values{"database": "app", "role": "app", "schema": "public", "objectType": "table", "privileges": []string{"INSERT", "SELECT"}, "withGrantOption": false}
	if got, want := grantSQL(all), `GRANT INSERT,SELECT ON ALL TABLES IN SCHEMA "public" TO "app"`; got != want {
		t.Errorf("grant: %s", got)
	}
	if got, want := revokeSQL(all), `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA "public" FROM "app"`; got != want {
		t.Errorf("revoke: %s", got)
	}
	some := merge(all, values{"objects": []string{"b", "a"}, "withGrantOption": true})
	if got, want := grantSQL(some), `GRANT INSERT,SELECT ON TABLE "public"."b", "public"."a" TO "app" WITH GRANT OPTION`; got != want {
		t.Errorf("grant objects: %s", got)
	}
	if got, want := revokeSQL(some), `REVOKE INSERT,SELECT ON TABLE "public"."b", "public"."a" FROM "app"`; got != want {
		t.Errorf("revoke objects: %s", got)
	}
	pub := values{"database": "app", "role": "public", "objectType": "database", "privileges": []string{}}
	if got := grantSQL(pub); got != "" {
		t.Errorf("revoke-only grant produced %q", got)
	}
	if got, want := revokeSQL(pub), `REVOKE ALL PRIVILEGES ON DATABASE "app" FROM PUBLIC`; got != want {
		t.Errorf("revoke public: %s", got)
	}
	dp := values{"database": "app", "owner": "o", "role": "r", "schema": "public", "objectType": "sequence", "privileges": []string{"SELECT", "USAGE"}}
	if got, want := defaultGrantSQL(dp), `ALTER DEFAULT PRIVILEGES FOR ROLE "o" IN SCHEMA "public" GRANT SELECT,USAGE ON SEQUENCES TO "r"`; got != want {
		t.Errorf("default grant: %s", got)
	}
	if got, want := defaultRevokeSQL(dp), `ALTER DEFAULT PRIVILEGES FOR ROLE "o" IN SCHEMA "public" REVOKE ALL ON SEQUENCES FROM "r"`; got != want {
		t.Errorf("default revoke: %s", got)
	}
}

func TestIDsFollowTheRealProvider(t *testing.T) {
	g := values{"database": "app", "role": "public", "objectType": "database"}
	if got := (grantResource{}).id(g); got != "public_app_database" {
		t.Errorf("grant id %s", got)
	}
	g = values{"database": "app", "role": "app", "schema": "public", "objectType": "table", "objects": []string{"a"}}
	if got := (grantResource{}).id(g); got != "app_app_public_table_a" {
		t.Errorf("grant id %s", got)
	}
	d := values{"database": "app", "role": "r", "owner": "o", "objectType": "table"}
	if got := (defaultPrivilegesResource{}).id(d); got != "r_app_noschema_o_table" {
		t.Errorf("default privileges id %s", got)
	}
}

func TestDSNEscapes(t *testing.T) {
	c := config{host: "db", port: 5432, username: "ad min", password: "p@ss/word", sslmode: "disable", connectTimeout: 30}
	got := c.dsn("app")
	want := "postgres://ad%20min:p%40ss%2Fword@db:5432/app?application_name=pulumi-resource-postgresql&connect_timeout=30&sslmode=disable"
	if got != want {
		t.Errorf("dsn\n got %s\nwant %s", got, want)
	}
}
