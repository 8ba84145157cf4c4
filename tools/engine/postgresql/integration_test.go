package main

// Runs the provider's gRPC methods in-process against a real server. Set PLATFORM_TEST_PG_DSN to a
// superuser URL of a throwaway server, e.g. postgres://postgres:pw@127.0.0.1:55432/postgres?sslmode=disable;
// the test creates and drops the roles itest_owner/itest_app and the database itest_db.

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type harness struct {
	t     *testing.T
	p     *pgProvider
	admin *sql.DB
}

func newHarness(t *testing.T) *harness {
	dsn := os.Getenv("PLATFORM_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("PLATFORM_TEST_PG_DSN is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	sslmode := u.Query().Get("sslmode")
	if sslmode == "" {
		sslmode = "prefer"
	}
	p := newProvider(nil)
	args, _ := marshal(resource.PropertyMap{
		"host":      resource.NewStringProperty(u.Hostname()),
		"port":      resource.NewStringProperty(u.Port()),
		"username":  resource.NewStringProperty(u.User.Username()),
		"password":  resource.MakeSecret(resource.NewStringProperty(pw)),
		"sslmode":   resource.NewStringProperty(sslmode),
		"superuser": resource.NewStringProperty("true"),
		"database":  resource.NewStringProperty("postgres"),
	})
	if _, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: args, AcceptSecrets: true}); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, p: p, admin: admin}
	h.cleanup()
	t.Cleanup(func() { h.cleanup(); admin.Close() })
	return h
}

func (h *harness) cleanup() {
	_, _ = h.admin.Exec(`DROP DATABASE IF EXISTS itest_db WITH (FORCE)`)
	_, _ = h.admin.Exec(`DROP ROLE IF EXISTS itest_app`)
	_, _ = h.admin.Exec(`DROP ROLE IF EXISTS itest_owner`)
}

func (h *harness) exec(database, stmt string) {
	h.t.Helper()
	db, err := h.p.db(database)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := db.Exec(stmt); err != nil {
		h.t.Fatalf("%s: %v", stmt, err)
	}
}

// resource is one managed resource: its URN, id and state.
type managed struct {
	urn, id string
	state   *pulumirpc.CreateResponse
}

func urnOf(token, name string) string {
	return "urn:pulumi:itest::itest::" + token + "::" + name
}

// create checks and creates a resource like the engine does.
func (h *harness) create(token, name string, inputs resource.PropertyMap) managed {
	h.t.Helper()
	ctx := context.Background()
	urn := urnOf(token, name)
	news, _ := marshal(inputs)
	chk, err := h.p.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: news})
	if err != nil || len(chk.Failures) > 0 {
		h.t.Fatalf("check %s: %v %v", name, err, chk.GetFailures())
	}
	// A preview must work without touching the server.
	if _, err := h.p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: chk.Inputs, Preview: true}); err != nil {
		h.t.Fatalf("preview create %s: %v", name, err)
	}
	resp, err := h.p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: chk.Inputs})
	if err != nil {
		h.t.Fatalf("create %s: %v", name, err)
	}
	// No diff between what the program asks and what was created.
	diff, err := h.p.Diff(ctx, &pulumirpc.DiffRequest{Urn: urn, Id: resp.Id, Olds: resp.Properties, News: chk.Inputs})
	if err != nil || diff.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		h.t.Fatalf("diff after create %s: %v %v", name, err, diff.GetDiffs())
	}
	return managed{urn: urn, id: resp.Id, state: resp}
}

// refresh reads a resource and returns the properties that differ from its state.
func (h *harness) refresh(m managed) (changed []string, gone bool) {
	h.t.Helper()
	ctx := context.Background()
	resp, err := h.p.Read(ctx, &pulumirpc.ReadRequest{Urn: m.urn, Id: m.id, Properties: m.state.Properties, Inputs: m.state.Properties})
	if err != nil {
		h.t.Fatalf("read %s: %v", m.urn, err)
	}
	if resp.Id == "" {
		return nil, true
	}
	diff, err := h.p.Diff(ctx, &pulumirpc.DiffRequest{Urn: m.urn, Id: m.id, Olds: resp.Properties, News: m.state.Properties})
	if err != nil {
		h.t.Fatal(err)
	}
	return diff.Diffs, false
}

func (h *harness) delete(m managed) {
	h.t.Helper()
	if _, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: m.urn, Id: m.id, Properties: m.state.Properties}); err != nil {
		h.t.Fatalf("delete %s: %v", m.urn, err)
	}
}

func strs(v ...string) resource.PropertyValue {
	arr := make([]resource.PropertyValue, len(v))
	for i, s := range v {
		arr[i] = resource.NewStringProperty(s)
	}
	return resource.NewArrayProperty(arr)
}

func TestAgainstPostgres(t *testing.T) {
	h := newHarness(t)
	role := func(name, kind string) managed {
		return h.create(roleSpec.token, kind, resource.PropertyMap{
			"name": resource.NewStringProperty(name), "login": resource.NewBoolProperty(true),
			"password":        resource.MakeSecret(resource.NewStringProperty("pw-" + name)),
			"connectionLimit": resource.NewNumberProperty(5), "inherit": resource.NewBoolProperty(true),
		})
	}
	owner := role("itest_owner", "owner")
	app := role("itest_app", "app")
	db := h.create(databaseSpec.token, "db", resource.PropertyMap{
		"name": resource.NewStringProperty("itest_db"), "owner": resource.NewStringProperty("itest_owner"),
		"encoding": resource.NewStringProperty("UTF8"), "template": resource.NewStringProperty("template0"),
	})
	revokePublic := h.create(grantSpec.token, "revoke-public", resource.PropertyMap{
		"database": resource.NewStringProperty("itest_db"), "role": resource.NewStringProperty("public"),
		"objectType": resource.NewStringProperty("database"), "privileges": strs(),
	})
	connect := h.create(grantSpec.token, "connect", resource.PropertyMap{
		"database": resource.NewStringProperty("itest_db"), "role": resource.NewStringProperty("itest_app"),
		"objectType": resource.NewStringProperty("database"), "privileges": strs("CONNECT"),
	})
	h.exec("itest_db", "CREATE TABLE items(id int)")
	h.exec("itest_db", "ALTER TABLE items OWNER TO itest_owner")
	tables := h.create(grantSpec.token, "tables", resource.PropertyMap{
		"database": resource.NewStringProperty("itest_db"), "role": resource.NewStringProperty("itest_app"),
		"schema": resource.NewStringProperty("public"), "objectType": resource.NewStringProperty("table"),
		"objects": strs(), "privileges": strs("select", "INSERT"),
	})
	future := h.create(defaultPrivilegesSpec.token, "future", resource.PropertyMap{
		"database": resource.NewStringProperty("itest_db"), "owner": resource.NewStringProperty("itest_owner"),
		"role": resource.NewStringProperty("itest_app"), "schema": resource.NewStringProperty("public"),
		"objectType": resource.NewStringProperty("table"), "privileges": strs("SELECT", "INSERT", "UPDATE"),
	})

	for _, m := range []managed{owner, app, db, revokePublic, connect, tables, future} {
		if changed, gone := h.refresh(m); gone || len(changed) > 0 {
			t.Fatalf("refresh of untouched %s: gone=%v changed=%v", m.urn, gone, changed)
		}
	}

	// Changes made by hand show up on refresh.
	h.exec("", "ALTER ROLE itest_app CREATEDB CONNECTION LIMIT 7")
	h.exec("itest_db", "GRANT DELETE ON ALL TABLES IN SCHEMA public TO itest_app")
	h.exec("itest_db", "ALTER DEFAULT PRIVILEGES FOR ROLE itest_owner IN SCHEMA public REVOKE UPDATE ON TABLES FROM itest_app")
	h.exec("", "GRANT TEMPORARY ON DATABASE itest_db TO public")
	if changed, _ := h.refresh(app); !slices.Equal(changed, []string{"connectionLimit", "createDatabase"}) {
		t.Errorf("role drift: %v", changed)
	}
	for _, m := range []managed{tables, future, revokePublic} {
		if changed, _ := h.refresh(m); !slices.Equal(changed, []string{"privileges"}) {
			t.Errorf("%s drift: %v", m.urn, changed)
		}
	}
	h.exec("itest_db", "ALTER DEFAULT PRIVILEGES FOR ROLE itest_owner IN SCHEMA public REVOKE ALL ON TABLES FROM itest_app")
	if _, gone := h.refresh(future); !gone {
		t.Errorf("default privileges revoked entirely should read as gone")
	}

	// Update a grant in place, then repair it: the privilege set follows the inputs again.
	ctx := context.Background()
	readState, _ := h.p.Read(ctx, &pulumirpc.ReadRequest{Urn: tables.urn, Id: tables.id, Properties: tables.state.Properties})
	if _, err := h.p.Update(ctx, &pulumirpc.UpdateRequest{Urn: tables.urn, Id: tables.id, Olds: readState.Properties, News: tables.state.Properties}); err != nil {
		t.Fatal(err)
	}
	if changed, _ := h.refresh(tables); len(changed) > 0 {
		t.Errorf("grant not repaired: %v", changed)
	}

	// Deleting in dependency order leaves nothing behind.
	for _, m := range []managed{future, tables, connect, revokePublic, db, app, owner} {
		h.delete(m)
	}
	var n int
	if err := h.admin.QueryRow(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'itest_%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("roles left: %d %v", n, err)
	}
	if err := h.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = 'itest_db'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database left: %d %v", n, err)
	}
}
