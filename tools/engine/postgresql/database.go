package main

// postgresql:index/database:Database — CREATE/ALTER/DROP DATABASE, read back from pg_database.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

type databaseResource struct{}

var databaseSpec = &spec{
	token: "postgresql:index/database:Database",
	fields: []field{
		{name: "name", typ: tString, required: true},
		{name: "owner", typ: tString, computed: true},
		{name: "template", typ: tString, computed: true, forceNew: true},
		{name: "encoding", typ: tString, computed: true, forceNew: true},
		{name: "lcCollate", typ: tString, computed: true, forceNew: true},
		{name: "lcCtype", typ: tString, computed: true, forceNew: true},
		{name: "tablespaceName", typ: tString, computed: true},
		{name: "connectionLimit", typ: tInt, def: -1},
		{name: "allowConnections", typ: tBool, def: true},
		{name: "isTemplate", typ: tBool, computed: true},
		{name: "alterObjectOwnership", typ: tBool, def: false},
	},
	// A replacement has the same name, so the old database must go first.
	deleteBeforeReplace: true,
}

func (databaseResource) spec() *spec        { return databaseSpec }
func (databaseResource) id(v values) string { return v.str("name") }

// withDefault renders an optional CREATE DATABASE option; "DEFAULT" is passed through.
func withDefault(b *strings.Builder, keyword, value string, literal bool) {
	switch {
	case value == "":
	case strings.ToUpper(value) == "DEFAULT":
		fmt.Fprintf(b, " %s DEFAULT", keyword)
	case literal:
		fmt.Fprintf(b, " %s %s", keyword, pq.QuoteLiteral(value))
	default:
		fmt.Fprintf(b, " %s %s", keyword, quoteIdent(value))
	}
}

func (r databaseResource) create(ctx context.Context, p *pgProvider, news values) (values, error) {
	name := news.str("name")
	owner := news.str("owner")
	if owner == "" {
		owner = p.username()
	}
	template := news.str("template")
	if template == "" {
		template = "template0" // the real provider's default
	}
	encoding := news.str("encoding")
	if encoding == "" {
		encoding = "UTF8"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s", quoteIdent(name), quoteIdent(owner))
	withDefault(&b, "TEMPLATE", template, false)
	withDefault(&b, "ENCODING", encoding, true)
	withDefault(&b, "LC_COLLATE", news.str("lcCollate"), true)
	withDefault(&b, "LC_CTYPE", news.str("lcCtype"), true)
	withDefault(&b, "TABLESPACE", news.str("tablespaceName"), false)
	fmt.Fprintf(&b, " ALLOW_CONNECTIONS %t CONNECTION LIMIT %d", news.boolean("allowConnections"), news.integer("connectionLimit"))
	if v, ok := news["isTemplate"].(bool); ok {
		fmt.Fprintf(&b, " IS_TEMPLATE %t", v)
	}
	db, err := p.db("")
	if err != nil {
		return nil, err
	}
	// CREATE DATABASE cannot run in a transaction. A non-superuser admin must be a member of the
	// owner to give it the database; the membership is granted and revoked around the statement.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	revoke, err := grantMembership(ctx, conn, owner)
	if err != nil {
		return nil, err
	}
	_, err = conn.ExecContext(ctx, b.String())
	if rerr := revoke(); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("could not create database %s: %w", name, err)
	}
	return readBack(ctx, r, p, name, merge(news, values{"template": template}),
		fmt.Sprintf("database %s vanished right after it was created", name))
}

// grantMembership makes the current (non-superuser) user a member of role when needed and
// returns the function that undoes it.
func grantMembership(ctx context.Context, q queryer, role string) (func() error, error) {
	noop := func() error { return nil }
	var current string
	var super bool
	if err := q.QueryRowContext(ctx, "SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user").Scan(&current, &super); err != nil {
		return noop, err
	}
	if super || role == current {
		return noop, nil
	}
	var member bool
	if err := q.QueryRowContext(ctx, "SELECT pg_has_role(current_user, $1, 'MEMBER')", role).Scan(&member); err != nil {
		return noop, err
	}
	if member {
		return noop, nil
	}
	if _, err := q.ExecContext(ctx, fmt.Sprintf("GRANT %s TO %s", quoteIdent(role), quoteIdent(current))); err != nil {
		return noop, fmt.Errorf("could not grant %s to %s: %w", role, current, err)
	}
	return func() error {
		_, err := q.ExecContext(ctx, fmt.Sprintf("REVOKE %s FROM %s", quoteIdent(role), quoteIdent(current)))
		return err
	}, nil
}

func (databaseResource) read(ctx context.Context, p *pgProvider, id string, state values) (values, error) {
	if n := state.str("name"); n != "" {
		id = n // the engine keeps the first ID across renames
	}
	db, err := p.db("")
	if err != nil {
		return nil, err
	}
	var (
		name, owner, encoding, collate, ctype, tablespace string
		connLimit                                         int
		allowConn, isTemplate                             bool
	)
	err = db.QueryRowContext(ctx, `SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba),
		pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, ts.spcname,
		d.datconnlimit, d.datallowconn, d.datistemplate
		FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace ts ON ts.oid = d.dattablespace
		WHERE d.datname = $1`, id).
		Scan(&name, &owner, &encoding, &collate, &ctype, &tablespace, &connLimit, &allowConn, &isTemplate)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not read database %s: %w", id, err)
	}
	out := merge(state, values{
		"name":             name,
		"owner":            owner,
		"encoding":         encoding,
		"lcCollate":        collate,
		"lcCtype":          ctype,
		"tablespaceName":   tablespace,
		"connectionLimit":  connLimit,
		"allowConnections": allowConn,
		"isTemplate":       isTemplate,
	})
	// The template a database was made from is not recorded by PostgreSQL: keep the state's.
	if out.str("template") == "" {
		out["template"] = "template0"
	}
	// "DEFAULT" in the inputs means whatever the server chose: keep it, or it would diff forever.
	for _, k := range []string{"encoding", "lcCollate", "lcCtype", "tablespaceName"} {
		if strings.ToUpper(state.str(k)) == "DEFAULT" {
			out[k] = state[k]
		}
	}
	if _, ok := out["alterObjectOwnership"]; !ok {
		out["alterObjectOwnership"] = false
	}
	return out, nil
}

func (r databaseResource) update(ctx context.Context, p *pgProvider, id string, olds, news values) (values, error) {
	oldName, name := olds.str("name"), news.str("name")
	if oldName == "" {
		oldName = id
	}
	db, err := p.db("")
	if err != nil {
		return nil, err
	}
	exec := func(what, stmt string) error {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("could not %s of database %s: %w", what, name, err)
		}
		return nil
	}
	if oldName != name {
		p.forget(oldName) // a database with open connections cannot be renamed
		if err := exec("change the name", fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", quoteIdent(oldName), quoteIdent(name))); err != nil {
			return nil, err
		}
	}
	if owner := news.str("owner"); owner != "" && (changed(olds, news, "owner") || changed(olds, news, "alterObjectOwnership")) {
		if news.boolean("alterObjectOwnership") && olds.str("owner") != "" && olds.str("owner") != owner {
			// Objects inside the database follow the new owner (REASSIGN OWNED runs per database).
			err := p.inTx(ctx, name, func(tx *sql.Tx) error {
				return withRolesGranted(ctx, tx, []string{olds.str("owner"), owner}, func() error {
					_, err := tx.ExecContext(ctx, fmt.Sprintf("REASSIGN OWNED BY %s TO %s", quoteIdent(olds.str("owner")), quoteIdent(owner)))
					return err
				})
			})
			if err != nil {
				return nil, fmt.Errorf("could not reassign the objects of database %s: %w", name, err)
			}
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		revoke, err := grantMembership(ctx, conn, owner)
		if err == nil {
			_, err = conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", quoteIdent(name), quoteIdent(owner)))
			if rerr := revoke(); err == nil {
				err = rerr
			}
		}
		conn.Close()
		if err != nil {
			return nil, fmt.Errorf("could not change the owner of database %s: %w", name, err)
		}
	}
	if changed(olds, news, "tablespaceName") {
		ts := news.str("tablespaceName")
		if ts == "" || strings.ToUpper(ts) == "DEFAULT" {
			ts = "pg_default"
		}
		p.forget(name)
		if err := exec("change the tablespace", fmt.Sprintf("ALTER DATABASE %s SET TABLESPACE %s", quoteIdent(name), quoteIdent(ts))); err != nil {
			return nil, err
		}
	}
	if changed(olds, news, "connectionLimit") {
		if err := exec("change the connection limit", fmt.Sprintf("ALTER DATABASE %s CONNECTION LIMIT %d", quoteIdent(name), news.integer("connectionLimit"))); err != nil {
			return nil, err
		}
	}
	if changed(olds, news, "allowConnections") {
		if err := exec("change allow_connections", fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", quoteIdent(name), news.boolean("allowConnections"))); err != nil {
			return nil, err
		}
	}
	if changed(olds, news, "isTemplate") {
		if err := exec("change is_template", fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE %t", quoteIdent(name), news.boolean("isTemplate"))); err != nil {
			return nil, err
		}
	}
	return readBack(ctx, r, p, name, news, fmt.Sprintf("database %s not found after update", name))
}

// delete drops the database, ending its sessions first (WITH (FORCE) on PostgreSQL 13+).
func (databaseResource) delete(ctx context.Context, p *pgProvider, id string, state values) error {
	name := state.str("name")
	if name == "" {
		name = id
	}
	p.forget(name)
	db, err := p.db("")
	if err != nil {
		return err
	}
	if ok, err := databaseExists(ctx, db, name); err != nil {
		return err
	} else if !ok {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	owner := state.str("owner")
	revoke := func() error { return nil }
	if owner != "" {
		if revoke, err = grantMembership(ctx, conn, owner); err != nil {
			return err
		}
	}
	defer func() { _ = revoke() }()
	if state.boolean("isTemplate") {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE false", quoteIdent(name))); err != nil {
			return fmt.Errorf("could not clear is_template on database %s: %w", name, err)
		}
	}
	version, err := p.versionNum(ctx)
	if err != nil {
		return err
	}
	// Refuse new sessions, then end the existing ones, as the real provider does.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS false", quoteIdent(name))); err != nil {
		return fmt.Errorf("could not block connections to database %s: %w", name, err)
	}
	stmt := fmt.Sprintf("DROP DATABASE %s", quoteIdent(name))
	if version >= 130000 {
		stmt += " WITH (FORCE)"
	} else if _, err := conn.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return fmt.Errorf("could not end the sessions of database %s: %w", name, err)
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("could not drop database %s: %w", name, err)
	}
	return nil
}
