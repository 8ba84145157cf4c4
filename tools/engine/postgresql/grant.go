package main

// postgresql:index/grant:Grant — GRANT/REVOKE on a database, a schema, or the tables, sequences
// or routines of a schema; read back from the objects' ACLs.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type grantResource struct{}

var grantSpec = &spec{
	token: "postgresql:index/grant:Grant",
	fields: []field{
		{name: "database", typ: tString, required: true, forceNew: true},
		{name: "role", typ: tString, required: true, forceNew: true},
		{name: "schema", typ: tString, forceNew: true},
		{name: "objectType", typ: tString, required: true, forceNew: true},
		{name: "objects", typ: tStringSet, forceNew: true},
		{name: "privileges", typ: tStringSet, required: true, upper: true},
		{name: "withGrantOption", typ: tBool, def: false, forceNew: true},
	},
	unsupported: []string{"columns"},
	// A replacement grants to the same target; revoking the old grant after it would undo it.
	deleteBeforeReplace: true,
}

func (grantResource) spec() *spec { return grantSpec }

// id follows the real provider: role_database[_schema]_objectType[_objects...].
func (grantResource) id(v values) string {
	parts := []string{v.str("role"), v.str("database")}
	if v.str("objectType") != "database" {
		parts = append(parts, v.str("schema"))
	}
	parts = append(parts, v.str("objectType"))
	parts = append(parts, v.set("objects")...)
	return strings.Join(parts, "_")
}

func (grantResource) validate(v values) []*pulumirpc.CheckFailure {
	var out []*pulumirpc.CheckFailure
	objectType, ok := v["objectType"].(string)
	if !ok {
		return nil // unknown in a preview
	}
	switch objectType {
	case "database", "schema", "table", "sequence", "function", "procedure", "routine":
	default:
		return append(out, failure("objectType", fmt.Sprintf("object type %q is not supported by this build (database, schema, table, sequence, function, procedure, routine)", objectType)))
	}
	if objectType != "database" {
		switch s := v["schema"].(type) {
		case unknown: // known at update time
		case string:
			if s == "" {
				out = append(out, failure("schema", "parameter 'schema' is mandatory for postgresql_grant resource"))
			}
		default:
			out = append(out, failure("schema", "parameter 'schema' is mandatory for postgresql_grant resource"))
		}
	}
	if len(v.set("objects")) > 0 && (objectType == "database" || objectType == "schema") {
		out = append(out, failure("objects", "cannot specify `objects` when `object_type` is `database` or `schema`"))
	}
	if privs, ok := v["privileges"].([]string); ok {
		if err := validatePrivileges(objectType, privs); err != nil {
			out = append(out, failure("privileges", err.Error()))
		}
	}
	if v.boolean("withGrantOption") && v.str("role") == publicRole {
		out = append(out, failure("withGrantOption", "with_grant_option cannot be true for role 'public'"))
	}
	return out
}

// qualifiedList renders schema-qualified object names.
func qualifiedList(schema string, objects []string) string {
	out := make([]string, len(objects))
	for i, o := range objects {
		out[i] = quoteIdent(schema) + "." + quoteIdent(o)
	}
	return strings.Join(out, ", ")
}

// grantTarget renders the "ON ..." part of GRANT/REVOKE.
func grantTarget(v values) string {
	objectType := v.str("objectType")
	switch objectType {
	case "database":
		return "DATABASE " + quoteIdent(v.str("database"))
	case "schema":
		return "SCHEMA " + quoteIdent(v.str("schema"))
	default:
		kw := strings.ToUpper(objectType)
		if objects := v.set("objects"); len(objects) > 0 {
			return kw + " " + qualifiedList(v.str("schema"), objects)
		}
		return fmt.Sprintf("ALL %sS IN SCHEMA %s", kw, quoteIdent(v.str("schema")))
	}
}

// grantSQL is the GRANT statement, or "" when no privilege is wanted (a revoke-only grant).
func grantSQL(v values) string {
	privs := v.set("privileges")
	if len(privs) == 0 {
		return ""
	}
	s := fmt.Sprintf("GRANT %s ON %s TO %s", strings.Join(privs, ","), grantTarget(v), quoteRole(v.str("role")))
	if v.boolean("withGrantOption") {
		s += " WITH GRANT OPTION"
	}
	return s
}

// revokeSQL revokes what v grants. As in the real provider, specific objects only lose the listed
// privileges (so column grants survive), everything else loses all privileges.
func revokeSQL(v values) string {
	privs := v.set("privileges")
	what := "ALL PRIVILEGES"
	if len(v.set("objects")) > 0 && len(privs) > 0 && !slices.Contains(privs, "ALL") {
		what = strings.Join(privs, ",")
	}
	return fmt.Sprintf("REVOKE %s ON %s FROM %s", what, grantTarget(v), quoteRole(v.str("role")))
}

// ownersToAssume are the roles a non-superuser admin must temporarily belong to in order to change
// privileges on the schema and the objects in it.
func ownersToAssume(ctx context.Context, tx *sql.Tx, v values) ([]string, error) {
	if v.str("objectType") == "database" {
		// Only the database's owner (or a superuser) can change its ACL; a GRANT by anyone else
		// is a warning, not an error, and would silently grant nothing.
		var owner string
		err := tx.QueryRowContext(ctx, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $1", v.str("database")).Scan(&owner)
		if err != nil {
			return nil, fmt.Errorf("could not find the owner of database %s: %w", v.str("database"), err)
		}
		return []string{owner}, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT r.rolname FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
		WHERE n.nspname = $1 AND $2 <> 'schema'
		UNION
		SELECT CASE WHEN r.rolname = 'pg_database_owner'
			THEN (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = current_database())
			ELSE r.rolname END
		FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE n.nspname = $1`,
		v.str("schema"), v.str("objectType"))
	if err != nil {
		return nil, fmt.Errorf("could not find the owners in schema %s: %w", v.str("schema"), err)
	}
	defer rows.Close()
	var owners []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		owners = append(owners, o)
	}
	return owners, rows.Err()
}

// apply revokes what olds granted and grants what news wants, in one transaction so the role never
// goes without its privileges in between (revoking first is what makes removing a privilege work).
func (r grantResource) apply(ctx context.Context, p *pgProvider, olds, news values) (values, error) {
	err := p.inTx(ctx, news.str("database"), func(tx *sql.Tx) error {
		if err := lockACLs(ctx, tx); err != nil {
			return err
		}
		owners, err := ownersToAssume(ctx, tx, news)
		if err != nil {
			return err
		}
		return withRolesGranted(ctx, tx, owners, func() error {
			if _, err := tx.ExecContext(ctx, revokeSQL(olds)); err != nil {
				return fmt.Errorf("could not revoke: %w", err)
			}
			if g := grantSQL(news); g != "" {
				if _, err := tx.ExecContext(ctx, g); err != nil {
					return fmt.Errorf("could not grant: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	state, err := readBack(ctx, r, p, r.id(news), news,
		fmt.Sprintf("the database, schema or role of grant %s does not exist", r.id(news)))
	if err != nil {
		return nil, err
	}
	// PostgreSQL only warns when the grantor may not grant; fail instead of recording a grant
	// that did not happen.
	if !privilegesMatch(news.str("objectType"), state.set("privileges"), news.set("privileges")) {
		return nil, fmt.Errorf("grant %s: %v requested but %v in effect; does the provider's user have the right to grant them?",
			r.id(news), news.set("privileges"), state.set("privileges"))
	}
	return state, nil
}

func (r grantResource) create(ctx context.Context, p *pgProvider, news values) (values, error) {
	return r.apply(ctx, p, news, news)
}

// update only ever changes privileges (everything else replaces): revoke with the old values.
func (r grantResource) update(ctx context.Context, p *pgProvider, _ string, olds, news values) (values, error) {
	return r.apply(ctx, p, olds, news)
}

func (r grantResource) delete(ctx context.Context, p *pgProvider, _ string, state values) error {
	db, err := p.db("")
	if err != nil {
		return err
	}
	if ok, err := databaseExists(ctx, db, state.str("database")); err != nil || !ok {
		return err // a dropped database took its privileges with it
	}
	return p.inTx(ctx, state.str("database"), func(tx *sql.Tx) error {
		if ok, err := roleExists(ctx, tx, state.str("role")); err != nil || !ok {
			return err
		}
		if state.str("objectType") != "database" {
			if ok, err := schemaExists(ctx, tx, state.str("schema")); err != nil || !ok {
				return err
			}
		}
		if err := lockACLs(ctx, tx); err != nil {
			return err
		}
		owners, err := ownersToAssume(ctx, tx, state)
		if err != nil {
			return err
		}
		return withRolesGranted(ctx, tx, owners, func() error {
			if _, err := tx.ExecContext(ctx, revokeSQL(state)); err != nil {
				return fmt.Errorf("could not revoke: %w", err)
			}
			return nil
		})
	})
}

// read derives the privileges really granted from the catalogs. For "all objects in a schema" (or
// a list of objects) the first object whose privileges differ from the state's decides, like the
// real provider; with no such object the state's privileges stand. It returns nil when the
// database, schema or role is gone.
func (grantResource) read(ctx context.Context, p *pgProvider, _ string, state values) (values, error) {
	out, err := privilegeState(ctx, p, state)
	if err != nil || out == nil {
		return nil, err
	}
	database := state.str("database")
	gone := false
	err = p.inTx(ctx, database, func(tx *sql.Tx) error {
		role, objectType := state.str("role"), state.str("objectType")
		if ok, err := roleExists(ctx, tx, role); err != nil || !ok {
			gone = !ok
			return err
		}
		if objectType != "database" {
			if ok, err := schemaExists(ctx, tx, state.str("schema")); err != nil || !ok {
				gone = !ok
				return err
			}
		}
		oid, err := roleOID(ctx, tx, role)
		if err != nil {
			return err
		}
		granted, err := readGranted(ctx, tx, objectType, state.str("database"), state.str("schema"), oid)
		if err != nil {
			return err
		}
		want := state.set("privileges")
		objects := state.set("objects")
		for _, g := range granted {
			if len(objects) > 0 && !slices.Contains(objects, g.name) {
				continue
			}
			if !privilegesMatch(objectType, g.privileges, want) {
				out["privileges"] = normSet(g.privileges)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("could not read grant on %s: %w", database, err)
	}
	if gone {
		return nil, nil
	}
	return out, nil
}

// objectPrivileges is what one grantee holds on one object.
type objectPrivileges struct {
	name       string
	privileges []string
}

// readGranted lists, per object of the type, the privileges the grantee (OID, 0 = PUBLIC) holds.
// A NULL ACL means the object still has its built-in defaults, which acldefault() spells out.
func readGranted(ctx context.Context, tx *sql.Tx, objectType, database, schema string, grantee uint32) ([]objectPrivileges, error) {
	var rows *sql.Rows
	var err error
	switch objectType {
	case "database":
		rows, err = tx.QueryContext(ctx, `SELECT d.datname, COALESCE(array_agg(a.privilege_type) FILTER (WHERE a.grantee = $2), '{}')
			FROM pg_catalog.pg_database d
			LEFT JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a ON true
			WHERE d.datname = $1 GROUP BY d.datname`, database, grantee)
	case "schema":
		rows, err = tx.QueryContext(ctx, `SELECT n.nspname, COALESCE(array_agg(a.privilege_type) FILTER (WHERE a.grantee = $2), '{}')
			FROM pg_catalog.pg_namespace n
			LEFT JOIN LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a ON true
			WHERE n.nspname = $1 GROUP BY n.nspname`, schema, grantee)
	case "table", "sequence":
		rows, err = tx.QueryContext(ctx, `SELECT c.relname, COALESCE(array_agg(a.privilege_type) FILTER (WHERE a.grantee = $2), '{}')
			FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a ON true
			WHERE n.nspname = $1 AND c.relkind::text = ANY($3)
			GROUP BY c.relname ORDER BY c.relname`, schema, grantee, pq.Array(relKinds[objectType]))
	case "function", "procedure", "routine":
		rows, err = tx.QueryContext(ctx, `SELECT f.proname, COALESCE(array_agg(a.privilege_type) FILTER (WHERE a.grantee = $2), '{}')
			FROM pg_catalog.pg_proc f
			JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
			LEFT JOIN LATERAL aclexplode(COALESCE(f.proacl, acldefault('f', f.proowner))) a ON true
			WHERE n.nspname = $1 AND f.prokind::text = ANY($3)
			GROUP BY f.proname, f.oid ORDER BY f.proname`, schema, grantee, pq.Array(proKinds[objectType]))
	default:
		return nil, fmt.Errorf("object type %q is not supported", objectType)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []objectPrivileges
	for rows.Next() {
		var o objectPrivileges
		var privs pq.StringArray
		if err := rows.Scan(&o.name, &privs); err != nil {
			return nil, err
		}
		o.privileges = normSet(privs)
		out = append(out, o)
	}
	return out, rows.Err()
}
