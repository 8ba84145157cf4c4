package main

// The gRPC ResourceProviderServer: provider configuration, connections, and the dispatch of
// Check/Diff/Create/Read/Update/Delete to the resource types.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/lib/pq"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// configSpec holds the provider configuration this plugin supports (a subset of the real one:
// no cloud IAM authentication, client certificates or scheme other than postgres).
var configSpec = &spec{
	token: "pulumi:providers:postgresql",
	fields: []field{
		{name: "host", typ: tString},
		{name: "port", typ: tInt, def: 5432},
		{name: "username", typ: tString, def: "postgres"},
		{name: "password", typ: tString, secret: true},
		{name: "sslmode", typ: tString},
		{name: "sslMode", typ: tString}, // deprecated spelling, still in the schema
		{name: "superuser", typ: tBool, def: true},
		{name: "database", typ: tString, def: "postgres"},
		{name: "databaseUsername", typ: tString},
		{name: "connectTimeout", typ: tInt, def: 180},
		{name: "maxConnections", typ: tInt, def: 20},
		{name: "sslrootcert", typ: tString},
		{name: "expectedVersion", typ: tString},
		{name: "scheme", typ: tString},
	},
	unsupported: []string{
		"awsRdsIamAuth", "awsRdsIamProfile", "awsRdsIamRegion", "awsRdsIamProviderRoleArn",
		"azureIdentityAuth", "azureTenantId", "clientcert", "gcpIamImpersonateServiceAccount",
	},
}

// config is the decoded provider configuration.
type config struct {
	host, username, password, sslmode, database, sslrootcert string
	port, connectTimeout, maxConns                           int
	superuser                                                bool
}

func configFrom(v values) (config, error) {
	c := config{
		host:           v.str("host"),
		port:           v.integer("port"),
		username:       v.str("username"),
		password:       v.str("password"),
		sslmode:        v.str("sslmode"),
		database:       v.str("database"),
		connectTimeout: v.integer("connectTimeout"),
		maxConns:       v.integer("maxConnections"),
		superuser:      v.boolean("superuser"),
		sslrootcert:    v.str("sslrootcert"),
	}
	if c.sslmode == "" {
		c.sslmode = v.str("sslMode")
	}
	if c.sslmode == "" {
		c.sslmode = "prefer" // libpq's default
	}
	if s := v.str("scheme"); s != "" && s != "postgres" {
		return c, fmt.Errorf("scheme %q is not supported by this build (only postgres)", s)
	}
	if c.host == "" {
		return c, fmt.Errorf("the provider needs a host")
	}
	if c.maxConns <= 0 {
		c.maxConns = 20
	}
	return c, nil
}

// dsn builds a libpq URL for one database.
func (c config) dsn(database string) string {
	q := url.Values{}
	q.Set("sslmode", c.sslmode)
	if c.connectTimeout > 0 {
		q.Set("connect_timeout", fmt.Sprint(c.connectTimeout))
	}
	if c.sslrootcert != "" {
		q.Set("sslrootcert", c.sslrootcert)
	}
	q.Set("application_name", "pulumi-resource-postgresql")
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.username, c.password),
		Host:     fmt.Sprintf("%s:%d", c.host, c.port),
		Path:     "/" + database,
		RawQuery: q.Encode(),
	}
	return u.String()
}

type pgProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu         sync.Mutex
	cfg        *config // nil until Configure ran with known values
	configErr  error
	pools      map[string]*sql.DB // one pool per database name
	serverNum  int                // server_version_num, 0 until known
	resources  map[string]resourceType
	previewCfg bool // Configure saw unknown values (preview): no connection possible
}

// resourceType is one resource token's behaviour. olds/news are decoded values; every method
// returns the full state (outputs).
type resourceType interface {
	spec() *spec
	id(v values) string
	create(ctx context.Context, p *pgProvider, news values) (values, error)
	// read returns nil when the object no longer exists.
	read(ctx context.Context, p *pgProvider, id string, state values) (values, error)
	update(ctx context.Context, p *pgProvider, id string, olds, news values) (values, error)
	delete(ctx context.Context, p *pgProvider, id string, state values) error
}

func newProvider(*provider.HostClient) *pgProvider {
	p := &pgProvider{pools: map[string]*sql.DB{}, resources: map[string]resourceType{}}
	for _, r := range []resourceType{databaseResource{}, roleResource{}, grantResource{}, defaultPrivilegesResource{}} {
		p.resources[r.spec().token] = r
	}
	// The SDK aliases DefaultPrivileges to this older token, so state may still carry it.
	p.resources["postgresql:index/defaultPrivileg:DefaultPrivileg"] = defaultPrivilegesResource{}
	return p
}

var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepOutputValues: true, SkipNulls: true}
var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, unmarshalOpts)
}

func marshal(pm resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(pm, marshalOpts)
}

func (p *pgProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// GetSchema returns a minimal schema: the program uses the pre-generated Python SDK, so the
// engine only needs the package name and version.
func (p *pgProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"postgresql","version":%q}`, Version)}, nil
}

func (p *pgProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *pgProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	// Configuration values are passed through as given (JSON-encoded strings from the SDK) so
	// that DiffConfig compares like with like; failures are reported for unsupported options.
	_, failures := configSpec.check(news)
	out, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

// DiffConfig reports changed settings but never replaces: a new host or password does not mean
// the roles and grants it manages must be recreated.
func (p *pgProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	oldPM, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	newPM, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, _ := configSpec.check(oldPM)
	news, _ := configSpec.check(newPM)
	return configSpec.diff(olds, news), nil
}

func (p *pgProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	var pm resource.PropertyMap
	if req.GetArgs() != nil {
		var err error
		if pm, err = unmarshal(req.GetArgs()); err != nil {
			return nil, err
		}
	} else {
		// Old-style configuration: "postgresql:config:host" = "..." (JSON-encoded non-strings).
		pm = resource.PropertyMap{}
		for k, v := range req.GetVariables() {
			k = k[strings.LastIndex(k, ":")+1:]
			pm[resource.PropertyKey(k)] = resource.NewStringProperty(v)
		}
	}
	vals, failures := configSpec.check(pm)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg, p.configErr, p.previewCfg = nil, nil, false
	switch {
	case len(failures) > 0:
		p.configErr = fmt.Errorf("invalid provider configuration: %s", failures[0].Reason)
	case vals.hasUnknown():
		p.previewCfg = true
	default:
		c, err := configFrom(vals)
		if err != nil {
			p.configErr = err
		} else {
			p.cfg = &c
		}
	}
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
		AcceptResources: true,
	}, nil
}

// db returns the pool for a database ("" = the configured default database).
func (p *pgProvider) db(database string) (*sql.DB, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.configErr != nil {
		return nil, p.configErr
	}
	if p.cfg == nil {
		return nil, fmt.Errorf("the postgresql provider is not configured (its configuration is not known yet)")
	}
	if database == "" {
		database = p.cfg.database
	}
	if pool, ok := p.pools[database]; ok {
		return pool, nil
	}
	pool, err := sql.Open("postgres", p.cfg.dsn(database))
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(p.cfg.maxConns)
	pool.SetMaxIdleConns(2)
	p.pools[database] = pool
	return pool, nil
}

// forget closes and drops the pool of a database that is about to be dropped or renamed.
func (p *pgProvider) forget(database string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pool, ok := p.pools[database]; ok {
		_ = pool.Close()
		delete(p.pools, database)
	}
}

// username is the role the provider connects as (REASSIGN OWNED target, membership grants).
func (p *pgProvider) username() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg == nil {
		return ""
	}
	return p.cfg.username
}

// versionNum returns the server's server_version_num.
func (p *pgProvider) versionNum(ctx context.Context) (int, error) {
	p.mu.Lock()
	n := p.serverNum
	p.mu.Unlock()
	if n != 0 {
		return n, nil
	}
	db, err := p.db("")
	if err != nil {
		return 0, err
	}
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&n); err != nil {
		return 0, fmt.Errorf("could not read the server version: %w", err)
	}
	p.mu.Lock()
	p.serverNum = n
	p.mu.Unlock()
	return n, nil
}

func (p *pgProvider) resourceFor(urnStr, typ string) (resourceType, error) {
	if typ == "" {
		typ = string(resource.URN(urnStr).Type())
	}
	r, ok := p.resources[typ]
	if !ok {
		return nil, fmt.Errorf("resource type %s is not supported by this build of the postgresql provider", typ)
	}
	return r, nil
}

func (p *pgProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	vals, failures := r.spec().check(news)
	if v, ok := r.(validator); ok && len(failures) == 0 {
		failures = append(failures, v.validate(vals)...)
	}
	out, err := marshal(r.spec().encode(vals))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

// validator is implemented by resources with cross-field rules.
// readBack reads an object right after writing it: what is really in the catalogs becomes the
// state, and an object that is not there is an error (`missing` says which), never a silent
// success.
func readBack(ctx context.Context, r resourceType, p *pgProvider, id string, want values, missing string) (values, error) {
	state, err := r.read(ctx, p, id, want)
	if err != nil {
		return nil, err
	}
	if state == nil {
		return nil, errors.New(missing)
	}
	return state, nil
}

type validator interface {
	validate(v values) []*pulumirpc.CheckFailure
}

func (p *pgProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := decodePM(r, req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := decodePM(r, req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, k := range req.GetIgnoreChanges() {
		if v, ok := olds[k]; ok {
			news[k] = v
		} else {
			delete(news, k)
		}
	}
	return r.spec().diff(olds, news), nil
}

func decodePM(r resourceType, s *structpb.Struct) (values, error) {
	pm, err := unmarshal(s)
	if err != nil {
		return nil, err
	}
	return r.spec().decode(pm)
}

func encodePM(r resourceType, v values) (*structpb.Struct, error) {
	return marshal(r.spec().encode(v))
}

func (p *pgProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	news, err := decodePM(r, req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		// Previews never touch the server: the outputs are the inputs, and what the provider
		// would compute is unknown.
		out := merge(news, nil)
		for _, f := range r.spec().fields {
			if _, ok := out[f.name]; !ok && f.computed {
				out[f.name] = unknown{}
			}
		}
		props, err := encodePM(r, out)
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	if news.hasUnknown() {
		return nil, fmt.Errorf("cannot create %s with unknown inputs", r.spec().token)
	}
	state, err := r.create(ctx, p, news)
	if err != nil {
		return nil, err
	}
	props, err := encodePM(r, state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: r.id(state), Properties: props}, nil
}

func (p *pgProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	state, err := decodePM(r, req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs, err := decodePM(r, req.GetInputs())
	if err != nil {
		return nil, err
	}
	fresh, err := r.read(ctx, p, req.GetId(), state)
	if err != nil {
		return nil, err
	}
	if fresh == nil {
		return &pulumirpc.ReadResponse{}, nil // gone: the engine drops it from the state
	}
	// Refreshed inputs follow the refreshed state for every input the program set, the way the
	// Terraform bridge extracts inputs from outputs; the next `up` then diffs the program against
	// what is really there.
	newInputs := values{}
	for k := range inputs {
		if v, ok := fresh[k]; ok {
			newInputs[k] = v
		} else {
			newInputs[k] = inputs[k]
		}
	}
	props, err := encodePM(r, fresh)
	if err != nil {
		return nil, err
	}
	ins, err := encodePM(r, newInputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: r.id(fresh), Properties: props, Inputs: ins}, nil
}

func (p *pgProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := decodePM(r, req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := decodePM(r, req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, f := range r.spec().fields {
		// A computed value the program leaves out keeps its current value.
		if _, ok := news[f.name]; !ok && f.computed {
			if v, ok := olds[f.name]; ok {
				news[f.name] = v
			}
		}
	}
	for _, k := range req.GetIgnoreChanges() {
		if v, ok := olds[k]; ok {
			news[k] = v
		}
	}
	if req.GetPreview() {
		props, err := encodePM(r, news)
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	if news.hasUnknown() {
		return nil, fmt.Errorf("cannot update %s with unknown inputs", r.spec().token)
	}
	state, err := r.update(ctx, p, req.GetId(), olds, news)
	if err != nil {
		return nil, err
	}
	props, err := encodePM(r, state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *pgProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	r, err := p.resourceFor(req.GetUrn(), req.GetType())
	if err != nil {
		return nil, err
	}
	state, err := decodePM(r, req.GetProperties())
	if err != nil {
		return nil, err
	}
	if err := r.delete(ctx, p, req.GetId(), state); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// quoteIdent quotes an identifier; "public" as a grantee is the PUBLIC pseudo-role.
func quoteIdent(s string) string { return pq.QuoteIdentifier(s) }

func quoteRole(s string) string {
	if s == publicRole {
		return "PUBLIC"
	}
	return pq.QuoteIdentifier(s)
}

const publicRole = "public"
