package main

// Property handling shared by every resource: a small field schema per resource type, the
// conversion between the engine's PropertyMaps and plain Go values, Check's defaults, and Diff.
//
// The resources keep their state flat and simple (strings, bools, ints, string sets), so a plain
// map[string]any is easier to reason about than PropertyValues. Unknown values (previews) are
// carried as the sentinel `unknown{}`; secrets are not tracked per value: a field marked secret
// in the schema is always wrapped as a secret on the way out.

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type fieldType int

const (
	tString fieldType = iota
	tBool
	tInt
	tStringSet // order-insensitive list of strings (Terraform TypeSet)
)

// field describes one property the way pulumi-postgresql's schema (from the Terraform provider)
// does.
type field struct {
	name     string
	typ      fieldType
	def      any  // default applied by Check when the input is absent; nil = none
	required bool // Check fails when absent
	forceNew bool // a change replaces the resource
	computed bool // the provider fills it when absent, so an absent input is not a diff
	secret   bool // always returned as a secret
	upper    bool // for string sets: values are upper-cased (privilege names)
}

// unknown marks a value the engine does not know yet (preview).
type unknown struct{}

// values is a decoded property map: string, bool, int, []string or unknown{} per key.
type values map[string]any

// spec is the static description of one resource type.
type spec struct {
	token  string
	fields []field
	// unsupported lists input properties of the real schema that this plugin does not implement.
	// Check rejects them when they carry a non-empty value instead of silently ignoring them.
	unsupported []string
	// deleteBeforeReplace: the resource's identity is fixed by its inputs (a database name, a
	// grant target), so the replacement cannot exist beside the old one, or deleting the old one
	// afterwards would undo the new one (a revoke after the grant).
	deleteBeforeReplace bool
}

func (s *spec) field(name string) (field, bool) {
	for _, f := range s.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// plain unwraps secrets and known outputs; it reports unknown for computed values.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return resource.MakeComputed(resource.NewStringProperty(""))
			}
			v = o.Element
		default:
			return v
		}
	}
}

// decodeValue converts one property to its Go value. Strings are accepted for bools and ints
// because explicit provider configuration arrives JSON-encoded ("5432", "true").
func decodeValue(f field, v resource.PropertyValue) (any, bool, error) {
	v = plain(v)
	if v.IsComputed() {
		return unknown{}, true, nil
	}
	if v.IsNull() {
		return nil, false, nil
	}
	switch f.typ {
	case tString:
		if v.IsString() {
			return v.StringValue(), true, nil
		}
	case tBool:
		if v.IsBool() {
			return v.BoolValue(), true, nil
		}
		if v.IsString() {
			switch strings.ToLower(v.StringValue()) {
			case "true":
				return true, true, nil
			case "false":
				return false, true, nil
			}
		}
	case tInt:
		if v.IsNumber() {
			n := v.NumberValue()
			if n != math.Trunc(n) {
				return nil, false, fmt.Errorf("%s: expected an integer, got %v", f.name, n)
			}
			return int(n), true, nil
		}
		if v.IsString() {
			var n int
			if _, err := fmt.Sscanf(v.StringValue(), "%d", &n); err == nil {
				return n, true, nil
			}
		}
	case tStringSet:
		if v.IsArray() {
			out := []string{}
			for _, e := range v.ArrayValue() {
				e = plain(e)
				if e.IsComputed() {
					return unknown{}, true, nil
				}
				if !e.IsString() {
					return nil, false, fmt.Errorf("%s: expected a list of strings", f.name)
				}
				s := e.StringValue()
				if f.upper {
					s = strings.ToUpper(s)
				}
				out = append(out, s)
			}
			return normSet(out), true, nil
		}
	}
	return nil, false, fmt.Errorf("%s: unexpected value %v", f.name, v)
}

// normSet sorts and de-duplicates, so sets compare and serialise deterministically.
func normSet(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}

// decode reads the fields of s from pm; properties outside the schema are ignored.
func (s *spec) decode(pm resource.PropertyMap) (values, error) {
	out := values{}
	for _, f := range s.fields {
		v, ok := pm[resource.PropertyKey(f.name)]
		if !ok {
			continue
		}
		d, present, err := decodeValue(f, v)
		if err != nil {
			return nil, err
		}
		if present {
			out[f.name] = d
		}
	}
	return out, nil
}

// encode turns values back into a PropertyMap, wrapping secret fields.
func (s *spec) encode(vals values) resource.PropertyMap {
	pm := resource.PropertyMap{}
	for _, f := range s.fields {
		v, ok := vals[f.name]
		if !ok {
			continue
		}
		var pv resource.PropertyValue
		switch x := v.(type) {
		case unknown:
			pv = resource.MakeComputed(resource.NewStringProperty(""))
		case string:
			pv = resource.NewStringProperty(x)
		case bool:
			pv = resource.NewBoolProperty(x)
		case int:
			pv = resource.NewNumberProperty(float64(x))
		case []string:
			arr := make([]resource.PropertyValue, len(x))
			for i, e := range x {
				arr[i] = resource.NewStringProperty(e)
			}
			pv = resource.NewArrayProperty(arr)
		default:
			continue
		}
		if f.secret && !pv.IsComputed() {
			pv = resource.MakeSecret(pv)
		}
		pm[resource.PropertyKey(f.name)] = pv
	}
	return pm
}

// check validates inputs and applies the defaults the real provider applies, so that the stored
// inputs and the state read back after create are equal (no diff on the next preview).
func (s *spec) check(news resource.PropertyMap) (values, []*pulumirpc.CheckFailure) {
	var failures []*pulumirpc.CheckFailure
	for _, name := range s.unsupported {
		v, ok := news[resource.PropertyKey(name)]
		if !ok || isEmpty(plain(v)) {
			continue
		}
		failures = append(failures, &pulumirpc.CheckFailure{
			Property: name,
			Reason:   fmt.Sprintf("%s.%s is not supported by this build of the postgresql provider (platform tools/engine/postgresql)", s.token, name),
		})
	}
	vals := values{}
	for _, f := range s.fields {
		raw, ok := news[resource.PropertyKey(f.name)]
		var v any
		present := false
		if ok {
			var err error
			v, present, err = decodeValue(f, raw)
			if err != nil {
				failures = append(failures, &pulumirpc.CheckFailure{Property: f.name, Reason: err.Error()})
				continue
			}
		}
		switch {
		case present:
			vals[f.name] = v
		case f.def != nil:
			vals[f.name] = f.def
		case f.required:
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: f.name, Reason: fmt.Sprintf("missing required property '%s'", f.name),
			})
		}
	}
	return vals, failures
}

func isEmpty(v resource.PropertyValue) bool {
	switch {
	case v.IsNull():
		return true
	case v.IsString():
		return v.StringValue() == ""
	case v.IsArray():
		return len(v.ArrayValue()) == 0
	case v.IsNumber():
		return v.NumberValue() == 0
	case v.IsBool():
		return !v.BoolValue()
	}
	return false
}

// equalValue compares two decoded values; an unknown is never equal. An absent set equals an
// empty one (Terraform does not distinguish them).
func equalValue(f field, a, b any, aok, bok bool) bool {
	if _, u := a.(unknown); u {
		return false
	}
	if _, u := b.(unknown); u {
		return false
	}
	if f.typ == tStringSet {
		as, _ := a.([]string)
		bs, _ := b.([]string)
		return slices.Equal(normSet(as), normSet(bs))
	}
	if aok != bok {
		return false
	}
	return a == b
}

// diff compares the state (olds, outputs of the last create/read/update) with the checked
// inputs (news). Computed fields that the program leaves out are not diffs.
func (s *spec) diff(olds, news values) *pulumirpc.DiffResponse {
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for _, f := range s.fields {
		n, nok := news[f.name]
		o, ook := olds[f.name]
		if !nok && f.computed {
			continue
		}
		if equalValue(f, o, n, ook, nok) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !ook:
			kind = pulumirpc.PropertyDiff_ADD
		case !nok:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if f.forceNew {
			kind++ // each *_REPLACE kind directly follows its plain kind
			resp.Replaces = append(resp.Replaces, f.name)
		}
		resp.Diffs = append(resp.Diffs, f.name)
		resp.DetailedDiff[f.name] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	if len(resp.Replaces) > 0 {
		resp.DeleteBeforeReplace = s.deleteBeforeReplace
	}
	return resp
}

// hasUnknown reports whether any value is not known yet.
func (v values) hasUnknown() bool {
	for _, x := range v {
		if _, u := x.(unknown); u {
			return true
		}
	}
	return false
}

func (v values) str(name string) string {
	s, _ := v[name].(string)
	return s
}

func (v values) boolean(name string) bool {
	b, _ := v[name].(bool)
	return b
}

func (v values) integer(name string) int {
	i, _ := v[name].(int)
	return i
}

func (v values) set(name string) []string {
	s, _ := v[name].([]string)
	return s
}

// changed reports whether name differs between olds and news.
func changed(olds, news values, name string) bool {
	a, aok := olds[name]
	b, bok := news[name]
	if aok != bok {
		return true
	}
	switch x := a.(type) {
	case []string:
		y, _ := b.([]string)
		return !slices.Equal(normSet(x), normSet(y))
	default:
		return a != b
	}
}

// merge returns a copy of base with over's keys on top.
func merge(base, over values) values {
	out := values{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func failure(property, reason string) *pulumirpc.CheckFailure {
	return &pulumirpc.CheckFailure{Property: property, Reason: reason}
}
