package main

// SQL helpers shared by the resources: transactions, locks, existence checks and the temporary
// role memberships a non-superuser admin (e.g. RDS) needs to act on objects it does not own.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction on database ("" = the provider's default database).
func (p *pgProvider) inTx(ctx context.Context, database string, fn func(tx *sql.Tx) error) error {
	db, err := p.db(database)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("could not start a transaction on database %q: %w", database, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("could not commit: %w", err)
	}
	return nil
}

// lockACLs serialises the privilege changes this provider makes in one database. The engine runs
// resources in parallel, and two GRANT/REVOKE statements that rewrite the same catalog row (the
// database's or schema's ACL, or every table's ACL for "ALL TABLES") in concurrent transactions
// fail with "tuple concurrently updated". Advisory locks are scoped to the connected database.
func lockACLs(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('pulumi-resource-postgresql:acl'))")
	if err != nil {
		return fmt.Errorf("could not take the privileges lock: %w", err)
	}
	return nil
}

// lockRoles serialises role changes made through the default database (CREATE/ALTER/DROP ROLE,
// membership grants), for the same reason as lockACLs.
func lockRoles(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('pulumi-resource-postgresql:roles'))")
	if err != nil {
		return fmt.Errorf("could not take the roles lock: %w", err)
	}
	return nil
}

func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func databaseExists(ctx context.Context, q queryer, name string) (bool, error) {
	return exists(ctx, q, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", name)
}

func roleExists(ctx context.Context, q queryer, name string) (bool, error) {
	if name == publicRole {
		return true, nil
	}
	return exists(ctx, q, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", name)
}

func schemaExists(ctx context.Context, q queryer, name string) (bool, error) {
	return exists(ctx, q, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", name)
}

// roleOID returns the OID aclexplode reports for a grantee; PUBLIC is 0.
func roleOID(ctx context.Context, q queryer, name string) (uint32, error) {
	if name == publicRole {
		return 0, nil
	}
	var oid uint32
	if err := q.QueryRowContext(ctx, "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1", name).Scan(&oid); err != nil {
		return 0, fmt.Errorf("could not find role %s: %w", name, err)
	}
	return oid, nil
}

func isSuperuser(ctx context.Context, q queryer, role string) (bool, error) {
	var super bool
	err := q.QueryRowContext(ctx, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1", role).Scan(&super)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return super, err
}

// withRolesGranted runs fn with the current user temporarily made a member of each role in roles
// when it is not a superuser, as the real provider does: on managed servers the admin is not a
// superuser and can only change the privileges of objects owned by roles it is a member of.
// The memberships are revoked in the same transaction.
func withRolesGranted(ctx context.Context, tx *sql.Tx, roles []string, fn func() error) error {
	if len(roles) == 0 {
		return fn()
	}
	var current string
	if err := tx.QueryRowContext(ctx, "SELECT current_user").Scan(&current); err != nil {
		return err
	}
	super, err := isSuperuser(ctx, tx, current)
	if err != nil {
		return err
	}
	if super {
		return fn()
	}
	var granted []string
	for _, role := range roles {
		if role == current || role == publicRole {
			continue
		}
		if s, err := isSuperuser(ctx, tx, role); err != nil {
			return err
		} else if s {
			continue // a non-superuser cannot be granted a superuser role
		}
		member, err := exists(ctx, tx, "SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2", role, current)
		if err != nil {
			return err
		}
		if member {
			continue
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("GRANT %s TO %s", quoteIdent(role), quoteIdent(current))); err != nil {
			return fmt.Errorf("could not grant %s to %s: %w", role, current, err)
		}
		granted = append(granted, role)
	}
	if err := fn(); err != nil {
		return err
	}
	for _, role := range granted {
		if ok, err := roleExists(ctx, tx, role); err != nil {
			return err
		} else if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("REVOKE %s FROM %s", quoteIdent(role), quoteIdent(current))); err != nil {
			return fmt.Errorf("could not revoke %s from %s: %w", role, current, err)
		}
	}
	return nil
}
