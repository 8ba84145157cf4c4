package main

// Privilege names and their comparison, shared by Grant and DefaultPrivileges.

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// allowedPrivileges lists, per object type, the privileges the real provider accepts. "ALL"
// stands for all the others.
var allowedPrivileges = map[string][]string{
	"database":  {"ALL", "CREATE", "CONNECT", "TEMPORARY"},
	"table":     {"ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"},
	"sequence":  {"ALL", "USAGE", "SELECT", "UPDATE"},
	"schema":    {"ALL", "CREATE", "USAGE"},
	"function":  {"ALL", "EXECUTE"},
	"procedure": {"ALL", "EXECUTE"},
	"routine":   {"ALL", "EXECUTE"},
	"type":      {"ALL", "USAGE"},
}

// optionalPrivileges exist only on some server versions (MAINTAIN: PostgreSQL 17+), so "ALL"
// matches a granted set with or without them.
var optionalPrivileges = map[string]bool{"MAINTAIN": true}

// validatePrivileges checks privilege names (already upper-cased) for an object type.
func validatePrivileges(objectType string, privileges []string) error {
	allowed, ok := allowedPrivileges[objectType]
	if !ok {
		return fmt.Errorf("unknown object type %q", objectType)
	}
	for _, p := range privileges {
		if p == "TEMP" && objectType == "database" {
			return fmt.Errorf("use TEMPORARY, not TEMP (PostgreSQL reports TEMPORARY, so TEMP would never match)")
		}
		if !slices.Contains(allowed, p) {
			return fmt.Errorf("%s is not an allowed privilege for object type %s (allowed: %s)", p, objectType, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// privilegesMatch reports whether the privileges granted in the catalog are what the state
// wants. Like the real provider, a wanted ["ALL"] matches every individual privilege granted.
func privilegesMatch(objectType string, granted, wanted []string) bool {
	g := normSet(granted)
	if slices.Equal(g, normSet(wanted)) {
		return true
	}
	if !slices.Contains(wanted, "ALL") {
		return false
	}
	var required []string
	for _, p := range allowedPrivileges[objectType] {
		if p != "ALL" && !optionalPrivileges[p] {
			required = append(required, p)
		}
	}
	var rest []string
	for _, p := range g {
		if !optionalPrivileges[p] {
			rest = append(rest, p)
		}
	}
	return slices.Equal(normSet(rest), normSet(required))
}

// aclDefaultKind maps an object type to the acldefault() kind letter, used when an object's ACL
// is NULL (never changed): then the hard-wired defaults apply, e.g. PUBLIC may CONNECT to a
// database and EXECUTE a function.
var aclDefaultKind = map[string]string{
	"database":  "d",
	"schema":    "n",
	"table":     "r",
	"sequence":  "s",
	"function":  "f",
	"procedure": "f",
	"routine":   "f",
}

// relKinds are the pg_class kinds that GRANT ... ON ALL TABLES / SEQUENCES covers.
var relKinds = map[string][]string{
	"table":    {"r", "v", "m", "f", "p"},
	"sequence": {"S"},
}

// proKinds are the pg_proc kinds that GRANT ... ON ALL FUNCTIONS / PROCEDURES / ROUTINES covers.
var proKinds = map[string][]string{
	"function":  {"f", "a", "w"},
	"procedure": {"p"},
	"routine":   {"f", "a", "w", "p"},
}

// defaultACLKinds are pg_default_acl.defaclobjtype per object type.
var defaultACLKinds = map[string]string{
	"table":    "r",
	"sequence": "S",
	"function": "f",
	"routine":  "f",
	"type":     "T",
	"schema":   "n",
}

// privilegeState starts the read of a grant or of default privileges: nil when their database is
// gone, else a copy of the state with withGrantOption defaulted as the SDK does.
func privilegeState(ctx context.Context, p *pgProvider, state values) (values, error) {
	db, err := p.db("")
	if err != nil {
		return nil, err
	}
	if ok, err := databaseExists(ctx, db, state.str("database")); err != nil || !ok {
		return nil, err
	}
	out := merge(state, nil)
	if _, ok := out["withGrantOption"]; !ok {
		out["withGrantOption"] = false
	}
	return out, nil
}
