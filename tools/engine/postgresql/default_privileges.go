package main

// postgresql:index/defaultPrivileges:DefaultPrivileges — ALTER DEFAULT PRIVILEGES FOR ROLE owner
// [IN SCHEMA s] GRANT/REVOKE ..., read back from pg_default_acl.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lib/pq"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type defaultPrivilegesResource struct{}

var defaultPrivilegesSpec = &spec{
	token: "postgresql:index/defaultPrivileges:DefaultPrivileges",
	fields: []field{
		{name: "database", typ: tString, required: true, forceNew: true},
		{name: "owner", typ: tString, required: true, forceNew: true},
		{name: "role", typ: tString, required: true, forceNew: true},
		{name: "schema", typ: tString, forceNew: true},
		{name: "objectType", typ: tString, required: true, forceNew: true},
		{name: "privileges", typ: tStringSet, required: true, upper: true},
		{name: "withGrantOption", typ: tBool, def: false, forceNew: true},
	},
	// A replacement targets the same (owner, role, schema, type): revoking after would undo it.
	deleteBeforeReplace: true,
}

func (defaultPrivilegesResource) spec() *spec { return defaultPrivilegesSpec }

// id follows the real provider: role_database_schema|noschema_owner_objectType.
func (defaultPrivilegesResource) id(v values) string {
	schema := v.str("schema")
	if schema == "" {
		schema = "noschema"
	}
	return strings.Join([]string{v.str("role"), v.str("database"), schema, v.str("owner"), v.str("objectType")}, "_")
}

func (defaultPrivilegesResource) validate(v values) []*pulumirpc.CheckFailure {
	var out []*pulumirpc.CheckFailure
	objectType, ok := v["objectType"].(string)
	if !ok {
		return nil
	}
	if _, ok := defaultACLKinds[objectType]; !ok {
		return append(out, failure("objectType", fmt.Sprintf("object type %q is not one of table, sequence, function, routine, type, schema", objectType)))
	}
	if objectType == "schema" && v.str("schema") != "" {
		out = append(out, failure("schema", "cannot specify `schema` when `object_type` is `schema`"))
	}
	if privs, ok := v["privileges"].([]string); ok {
		if err := validatePrivileges(objectType, privs); err != nil {
			out = append(out, failure("privileges", err.Error()))
		}
	}
	if v.boolean("withGrantOption") && strings.ToLower(v.str("role")) == publicRole {
		out = append(out, failure("withGrantOption", "with_grant_option cannot be true for role 'public'"))
	}
	return out
}

func alterDefaultPrefix(v values) string {
	s := "ALTER DEFAULT PRIVILEGES FOR ROLE " + quoteIdent(v.str("owner"))
	if schema := v.str("schema"); schema != "" {
		s += " IN SCHEMA " + quoteIdent(schema)
	}
	return s
}

func defaultRevokeSQL(v values) string {
	return fmt.Sprintf("%s REVOKE ALL ON %sS FROM %s", alterDefaultPrefix(v), strings.ToUpper(v.str("objectType")), quoteRole(v.str("role")))
}

func defaultGrantSQL(v values) string {
	privs := v.set("privileges")
	if len(privs) == 0 {
		return ""
	}
	s := fmt.Sprintf("%s GRANT %s ON %sS TO %s", alterDefaultPrefix(v), strings.Join(privs, ","), strings.ToUpper(v.str("objectType")), quoteRole(v.str("role")))
	if v.boolean("withGrantOption") {
		s += " WITH GRANT OPTION"
	}
	return s
}

// apply revokes then grants in one transaction, as the real provider does (create and update).
func (r defaultPrivilegesResource) apply(ctx context.Context, p *pgProvider, news values) (values, error) {
	err := p.inTx(ctx, news.str("database"), func(tx *sql.Tx) error {
		if err := lockACLs(ctx, tx); err != nil {
			return err
		}
		return withRolesGranted(ctx, tx, []string{news.str("owner")}, func() error {
			if _, err := tx.ExecContext(ctx, defaultRevokeSQL(news)); err != nil {
				return fmt.Errorf("could not revoke default privileges: %w", err)
			}
			if g := defaultGrantSQL(news); g != "" {
				if _, err := tx.ExecContext(ctx, g); err != nil {
					return fmt.Errorf("could not alter default privileges: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	state, err := readBack(ctx, r, p, r.id(news), news,
		fmt.Sprintf("default privileges %s were not found after they were set", r.id(news)))
	if err != nil {
		return nil, err
	}
	if !privilegesMatch(news.str("objectType"), state.set("privileges"), news.set("privileges")) {
		return nil, fmt.Errorf("default privileges %s: %v requested but %v in effect", r.id(news), news.set("privileges"), state.set("privileges"))
	}
	return state, nil
}

func (r defaultPrivilegesResource) create(ctx context.Context, p *pgProvider, news values) (values, error) {
	return r.apply(ctx, p, news)
}

func (r defaultPrivilegesResource) update(ctx context.Context, p *pgProvider, _ string, _, news values) (values, error) {
	return r.apply(ctx, p, news)
}

func (defaultPrivilegesResource) delete(ctx context.Context, p *pgProvider, _ string, state values) error {
	db, err := p.db("")
	if err != nil {
		return err
	}
	if ok, err := databaseExists(ctx, db, state.str("database")); err != nil || !ok {
		return err
	}
	return p.inTx(ctx, state.str("database"), func(tx *sql.Tx) error {
		for _, role := range []string{state.str("owner"), state.str("role")} {
			if ok, err := roleExists(ctx, tx, role); err != nil || !ok {
				return err
			}
		}
		if schema := state.str("schema"); schema != "" {
			if ok, err := schemaExists(ctx, tx, schema); err != nil || !ok {
				return err
			}
		}
		if err := lockACLs(ctx, tx); err != nil {
			return err
		}
		return withRolesGranted(ctx, tx, []string{state.str("owner")}, func() error {
			if _, err := tx.ExecContext(ctx, defaultRevokeSQL(state)); err != nil {
				return fmt.Errorf("could not revoke default privileges: %w", err)
			}
			return nil
		})
	})
}

// read returns the default privileges the owner gives the role. As in the real provider, none at
// all while some are wanted means the resource is gone (a refresh drops it and `up` recreates it).
func (defaultPrivilegesResource) read(ctx context.Context, p *pgProvider, _ string, state values) (values, error) {
	out, err := privilegeState(ctx, p, state)
	if err != nil || out == nil {
		return nil, err
	}
	database := state.str("database")
	gone := false
	err = p.inTx(ctx, database, func(tx *sql.Tx) error {
		for _, role := range []string{state.str("owner"), state.str("role")} {
			if ok, err := roleExists(ctx, tx, role); err != nil || !ok {
				gone = !ok
				return err
			}
		}
		schema := state.str("schema")
		if schema != "" {
			if ok, err := schemaExists(ctx, tx, schema); err != nil || !ok {
				gone = !ok
				return err
			}
		}
		grantee, err := roleOID(ctx, tx, state.str("role"))
		if err != nil {
			return err
		}
		var privs pq.StringArray
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(a.privilege_type), '{}')
			FROM pg_catalog.pg_default_acl d
			CROSS JOIN LATERAL aclexplode(d.defaclacl) a
			WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
			  AND d.defaclobjtype = $2::"char"
			  AND d.defaclnamespace = CASE WHEN $3 = '' THEN 0
			      ELSE (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $3) END
			  AND a.grantee = $4`,
			state.str("owner"), defaultACLKinds[state.str("objectType")], schema, grantee).Scan(&privs)
		if err != nil {
			return err
		}
		if len(privs) == 0 && len(state.set("privileges")) > 0 {
			gone = true
			return nil
		}
		if !privilegesMatch(state.str("objectType"), privs, state.set("privileges")) {
			out["privileges"] = normSet(privs)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("could not read default privileges in %s: %w", database, err)
	}
	if gone {
		return nil, nil
	}
	return out, nil
}
