package main

// postgresql:index/role:Role — CREATE/ALTER/DROP ROLE, read back from pg_roles.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type roleResource struct{}

var roleSpec = &spec{
	token: "postgresql:index/role:Role",
	fields: []field{
		{name: "name", typ: tString, required: true},
		{name: "login", typ: tBool, def: false},
		{name: "password", typ: tString, secret: true},
		{name: "connectionLimit", typ: tInt, def: -1},
		{name: "createDatabase", typ: tBool, def: false},
		{name: "createRole", typ: tBool, def: false},
		{name: "superuser", typ: tBool, def: false},
		{name: "inherit", typ: tBool, def: true},
		{name: "replication", typ: tBool, def: false},
		{name: "bypassRowLevelSecurity", typ: tBool, def: false},
		{name: "validUntil", typ: tString, def: "infinity"},
		{name: "encryptedPassword", typ: tBool, def: true},
		{name: "skipDropRole", typ: tBool, def: false},
		{name: "skipReassignOwned", typ: tBool, def: false},
	},
	unsupported: []string{
		"roles", "searchPaths", "statementTimeout", "idleInTransactionSessionTimeout",
		"assumeRole", "passwordWo", "passwordWoVersion", "encrypted",
	},
}

func (roleResource) spec() *spec        { return roleSpec }
func (roleResource) id(v values) string { return v.str("name") }

// roleFlags are the boolean attributes, in CREATE ROLE order.
var roleFlags = []struct{ field, on, off string }{
	{"superuser", "SUPERUSER", "NOSUPERUSER"},
	{"createDatabase", "CREATEDB", "NOCREATEDB"},
	{"createRole", "CREATEROLE", "NOCREATEROLE"},
	{"inherit", "INHERIT", "NOINHERIT"},
	{"login", "LOGIN", "NOLOGIN"},
	{"replication", "REPLICATION", "NOREPLICATION"},
	{"bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS"},
}

func (roleResource) validate(v values) []*pulumirpc.CheckFailure {
	var out []*pulumirpc.CheckFailure
	if v.integer("connectionLimit") < -1 {
		out = append(out, failure("connectionLimit", "must be -1 (no limit) or more"))
	}
	if b, ok := v["encryptedPassword"].(bool); ok && !b {
		out = append(out, failure("encryptedPassword", "PostgreSQL 10+ always stores passwords encrypted; encryptedPassword=false is not supported"))
	}
	return out
}

// passwordClause is the PASSWORD part of CREATE/ALTER ROLE; "NULL" removes the password, as in
// the real provider.
func passwordClause(password string) string {
	if strings.ToUpper(password) == "NULL" {
		return "PASSWORD NULL"
	}
	return "ENCRYPTED PASSWORD " + pq.QuoteLiteral(password)
}

func validUntilClause(v string) string {
	if v == "" {
		v = "infinity"
	}
	return "VALID UNTIL " + pq.QuoteLiteral(v)
}

func (r roleResource) create(ctx context.Context, p *pgProvider, news values) (values, error) {
	name := news.str("name")
	opts := []string{}
	if pw := news.str("password"); pw != "" {
		opts = append(opts, passwordClause(pw))
	}
	opts = append(opts, validUntilClause(news.str("validUntil")))
	opts = append(opts, fmt.Sprintf("CONNECTION LIMIT %d", news.integer("connectionLimit")))
	for _, f := range roleFlags {
		if news.boolean(f.field) {
			opts = append(opts, f.on)
		} else {
			opts = append(opts, f.off)
		}
	}
	err := p.inTx(ctx, "", func(tx *sql.Tx) error {
		if err := lockRoles(ctx, tx); err != nil {
			return err
		}
		// The statement carries the password: errors name the role, never the SQL.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE ROLE %s WITH %s", quoteIdent(name), strings.Join(opts, " "))); err != nil {
			return fmt.Errorf("could not create role %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return readBack(ctx, r, p, name, news, fmt.Sprintf("role %s vanished right after it was created", name))
}

// read returns the role's real attributes. The password cannot be read back (only a hash is
// stored, and only superusers may see it), so the state's password is kept.
func (roleResource) read(ctx context.Context, p *pgProvider, id string, state values) (values, error) {
	// The engine keeps the first ID across renames; the state has the current name.
	if n := state.str("name"); n != "" {
		id = n
	}
	db, err := p.db("")
	if err != nil {
		return nil, err
	}
	var (
		name, validUntil                                          string
		super, inherit, createRole, createDB, login, repl, bypass bool
		connLimit                                                 int
	)
	err = db.QueryRowContext(ctx, `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
		rolreplication, rolbypassrls, rolconnlimit, COALESCE(rolvaliduntil::text, 'infinity')
		FROM pg_catalog.pg_roles WHERE rolname = $1`, id).
		Scan(&name, &super, &inherit, &createRole, &createDB, &login, &repl, &bypass, &connLimit, &validUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not read role %s: %w", id, err)
	}
	out := merge(state, values{
		"name":                   name,
		"superuser":              super,
		"inherit":                inherit,
		"createRole":             createRole,
		"createDatabase":         createDB,
		"login":                  login,
		"replication":            repl,
		"bypassRowLevelSecurity": bypass,
		"connectionLimit":        connLimit,
		"encryptedPassword":      true,
	})
	// A timestamp is reported in the server's own format; keep the state's spelling when it
	// denotes the same instant, so '2030-01-01' does not diff against '2030-01-01 00:00:00+00'.
	if old := state.str("validUntil"); old != "" && old != validUntil {
		var same bool
		if old != "infinity" && validUntil != "infinity" {
			if err := db.QueryRowContext(ctx, "SELECT $1::timestamptz = $2::timestamptz", old, validUntil).Scan(&same); err != nil {
				same = false
			}
		}
		if same {
			validUntil = old
		}
	}
	out["validUntil"] = validUntil
	for _, k := range []string{"skipDropRole", "skipReassignOwned"} {
		if _, ok := out[k]; !ok {
			out[k] = false
		}
	}
	return out, nil
}

func (r roleResource) update(ctx context.Context, p *pgProvider, id string, olds, news values) (values, error) {
	oldName, name := olds.str("name"), news.str("name")
	if oldName == "" {
		oldName = id
	}
	var stmts []string
	if oldName != name {
		stmts = append(stmts, fmt.Sprintf("ALTER ROLE %s RENAME TO %s", quoteIdent(oldName), quoteIdent(name)))
	}
	// Only changed attributes are altered: a non-superuser admin may not even mention SUPERUSER.
	var opts []string
	if changed(olds, news, "password") {
		if pw := news.str("password"); pw != "" {
			opts = append(opts, passwordClause(pw))
		} else {
			opts = append(opts, "PASSWORD NULL")
		}
	}
	if changed(olds, news, "validUntil") {
		opts = append(opts, validUntilClause(news.str("validUntil")))
	}
	if changed(olds, news, "connectionLimit") {
		opts = append(opts, fmt.Sprintf("CONNECTION LIMIT %d", news.integer("connectionLimit")))
	}
	for _, f := range roleFlags {
		if changed(olds, news, f.field) {
			if news.boolean(f.field) {
				opts = append(opts, f.on)
			} else {
				opts = append(opts, f.off)
			}
		}
	}
	if len(opts) > 0 {
		stmts = append(stmts, fmt.Sprintf("ALTER ROLE %s WITH %s", quoteIdent(name), strings.Join(opts, " ")))
	}
	err := p.inTx(ctx, "", func(tx *sql.Tx) error {
		if err := lockRoles(ctx, tx); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("could not alter role %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return readBack(ctx, r, p, name, news, fmt.Sprintf("role %s not found after update", name))
}

// delete hands what the role owns in the default database to the admin and drops its remaining
// privileges there (REASSIGN OWNED / DROP OWNED, as the real provider does), then drops it.
func (roleResource) delete(ctx context.Context, p *pgProvider, id string, state values) error {
	name := state.str("name")
	if name == "" {
		name = id
	}
	admin := p.username()
	return p.inTx(ctx, "", func(tx *sql.Tx) error {
		if err := lockRoles(ctx, tx); err != nil {
			return err
		}
		if ok, err := roleExists(ctx, tx, name); err != nil {
			return err
		} else if !ok {
			return nil // already gone
		}
		if !state.boolean("skipReassignOwned") {
			err := withRolesGranted(ctx, tx, []string{name}, func() error {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("REASSIGN OWNED BY %s TO %s", quoteIdent(name), quoteIdent(admin))); err != nil {
					return fmt.Errorf("could not reassign what %s owns to %s: %w", name, admin, err)
				}
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("DROP OWNED BY %s", quoteIdent(name))); err != nil {
					return fmt.Errorf("could not drop what %s owns: %w", name, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if !state.boolean("skipDropRole") {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("DROP ROLE %s", quoteIdent(name))); err != nil {
				return fmt.Errorf("could not drop role %s: %w", name, err)
			}
		}
		return nil
	})
}
