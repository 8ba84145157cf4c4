package main

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestCheckAppliesRoleDefaults(t *testing.T) {
	vals, failures := roleSpec.check(resource.PropertyMap{
		"name":     resource.NewStringProperty("app"),
		"login":    resource.NewBoolProperty(true),
		"password": resource.MakeSecret(resource.NewStringProperty("s3cret")),
	})
	if len(failures) != 0 {
		t.Fatalf("failures: %v", failures)
	}
	want := values{
		"name": "app", "login": true, "password": "s3cret", "connectionLimit": -1,
		"createDatabase": false, "createRole": false, "superuser": false, "inherit": true,
		"replication": false, "bypassRowLevelSecurity": false, "validUntil": "infinity",
		"encryptedPassword": true, "skipDropRole": false, "skipReassignOwned": false,
	}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("%s = %v, want %v", k, vals[k], v)
		}
	}
	pm := roleSpec.encode(vals)
	if !pm["password"].IsSecret() {
		t.Error("password must be encoded as a secret")
	}
}

func TestCheckRejectsUnsupportedAndMissing(t *testing.T) {
	_, failures := roleSpec.check(resource.PropertyMap{
		"roles": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("x")}),
	})
	props := []string{}
	for _, f := range failures {
		props = append(props, f.Property)
	}
	if !slices.Contains(props, "roles") || !slices.Contains(props, "name") {
		t.Fatalf("want failures for roles and name, got %v", props)
	}
	// An empty list for an unsupported property is harmless.
	_, failures = roleSpec.check(resource.PropertyMap{
		"name":  resource.NewStringProperty("x"),
		"roles": resource.NewArrayProperty(nil),
	})
	if len(failures) != 0 {
		t.Fatalf("unexpected failures %v", failures)
	}
}

func TestConfigAcceptsJSONEncodedValues(t *testing.T) {
	// Explicit providers get non-string config JSON-encoded by the SDK.
	vals, failures := configSpec.check(resource.PropertyMap{
		"host":           resource.NewStringProperty("db"),
		"port":           resource.NewStringProperty("5433"),
		"superuser":      resource.NewStringProperty("false"),
		"connectTimeout": resource.NewStringProperty("30"),
		"password":       resource.MakeSecret(resource.NewStringProperty("pw")),
	})
	if len(failures) != 0 {
		t.Fatal(failures)
	}
	c, err := configFrom(vals)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != 5433 || c.superuser || c.connectTimeout != 30 || c.password != "pw" || c.sslmode != "prefer" || c.database != "postgres" {
		t.Fatalf("unexpected config %+v", c)
	}
}

func TestGrantPrivilegesAreNormalised(t *testing.T) {
	vals, failures := grantSpec.check(resource.PropertyMap{
		"database":   resource.NewStringProperty("app"),
		"role":       resource.NewStringProperty("app"),
		"schema":     resource.NewStringProperty("public"),
		"objectType": resource.NewStringProperty("table"),
		"objects":    resource.NewArrayProperty(nil),
		"privileges": resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewStringProperty("update"), resource.NewStringProperty("SELECT"), resource.NewStringProperty("select"),
		}),
	})
	if len(failures) != 0 {
		t.Fatal(failures)
	}
	if got := vals.set("privileges"); !slices.Equal(got, []string{"SELECT", "UPDATE"}) {
		t.Fatalf("privileges = %v", got)
	}
	if vals["withGrantOption"] != false {
		t.Fatal("withGrantOption default missing")
	}
}

func TestGrantValidation(t *testing.T) {
	cases := map[string]values{
		"schema":          {"objectType": "table", "role": "a", "privileges": []string{"SELECT"}},
		"objects":         {"objectType": "database", "role": "a", "objects": []string{"x"}, "privileges": []string{}},
		"privileges":      {"objectType": "schema", "schema": "s", "role": "a", "privileges": []string{"SELECT"}},
		"withGrantOption": {"objectType": "database", "role": "public", "privileges": []string{"CONNECT"}, "withGrantOption": true},
	}
	for prop, v := range cases {
		failures := grantResource{}.validate(v)
		if len(failures) != 1 || failures[0].Property != prop {
			t.Errorf("%s: got %v", prop, failures)
		}
	}
	ok := values{"objectType": "database", "role": "public", "privileges": []string{}}
	if f := (grantResource{}).validate(ok); len(f) != 0 {
		t.Errorf("revoke-only database grant rejected: %v", f)
	}
}

func TestDiffNoChangeAfterCreate(t *testing.T) {
	olds := values{
		"database": "app", "role": "app", "schema": "public", "objectType": "table",
		"objects": []string{}, "privileges": []string{"DELETE", "INSERT", "SELECT", "UPDATE"}, "withGrantOption": false,
	}
	news := merge(olds, values{"privileges": []string{"SELECT", "INSERT", "UPDATE", "DELETE"}})
	delete(news, "objects") // absent and empty sets are the same
	d := grantSpec.diff(olds, news)
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unexpected diff %v", d.Diffs)
	}
}

func TestDiffReplacesAndUpdates(t *testing.T) {
	olds := values{"database": "app", "role": "app", "schema": "public", "objectType": "table", "privileges": []string{"SELECT"}, "withGrantOption": false}
	d := grantSpec.diff(olds, merge(olds, values{"privileges": []string{"SELECT", "INSERT"}}))
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || d.DetailedDiff["privileges"].Kind != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("privileges should update in place: %+v", d)
	}
	d = grantSpec.diff(olds, merge(olds, values{"role": "other"}))
	if !slices.Equal(d.Replaces, []string{"role"}) || !d.DeleteBeforeReplace || d.DetailedDiff["role"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("role should replace, delete first: %+v", d)
	}
	// An unknown input (preview) is a change.
	d = grantSpec.diff(olds, merge(olds, values{"role": unknown{}}))
	if !slices.Equal(d.Replaces, []string{"role"}) {
		t.Fatalf("unknown role should replace: %+v", d)
	}
}

func TestDiffIgnoresOmittedComputed(t *testing.T) {
	olds := values{"name": "app", "owner": "o", "encoding": "UTF8", "lcCollate": "C.UTF-8", "lcCtype": "C.UTF-8",
		"template": "template0", "tablespaceName": "pg_default", "connectionLimit": -1, "allowConnections": true,
		"isTemplate": false, "alterObjectOwnership": false}
	news := values{"name": "app", "connectionLimit": -1, "allowConnections": true, "alterObjectOwnership": false}
	if d := databaseSpec.diff(olds, news); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unexpected diff %v", d.Diffs)
	}
	d := databaseSpec.diff(olds, merge(news, values{"encoding": "LATIN1"}))
	if !slices.Equal(d.Replaces, []string{"encoding"}) || !d.DeleteBeforeReplace {
		t.Fatalf("encoding should replace: %+v", d)
	}
	d = databaseSpec.diff(olds, merge(news, values{"name": "app2", "owner": "o2"}))
	if len(d.Replaces) != 0 || !slices.Equal(d.Diffs, []string{"name", "owner"}) {
		t.Fatalf("rename/owner change should update: %+v", d)
	}
}
