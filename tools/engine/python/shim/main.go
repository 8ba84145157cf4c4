// pulumi-language-python (shim): the Python language host the engine launches, standing in front
// of the real host, an older build of pulumi-language-python installed beside it (see ../build).
//
// That older host is the newest one the module proxy serves, and it predates two things the
// engine now relies on, both carried by the requests' ProgramInfo (`info`):
//   - runtime options: the engine passes Pulumi.yaml's `runtime.options` only in info.options, no
//     longer as flags, so the old host never learns `virtualenv` and runs whatever `python3` is
//     first on PATH. The shim starts the old host with `-virtualenv` and `-root` taken from info,
//     one old host per distinct pair (a program and its policy pack share one language host but
//     name different virtualenvs).
//   - RunPlugin's program: the engine fills only info and leaves the deprecated `program` empty,
//     so the old host would run `python "" ARGS`. The shim fills `program` from info.
//
// Everything else is forwarded unchanged, so whatever the old host lacks answers Unimplemented
// and the engine falls back as it does for any older host.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// hostBinary is the old host's file name, beside this executable; ../build sets it.
var hostBinary = "pulumi-language-python-host"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python (shim): %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// The engine passes flags (which the old host understands), then its own address last.
	args := os.Args[1:]
	if len(args) == 0 {
		return errors.New("usage: pulumi-language-python [flags] ENGINE_ADDRESS")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s := &shim{path: filepath.Join(filepath.Dir(self), hostBinary), args: args, hosts: map[string]*oldHost{}}
	defer s.close()

	// Stop when the engine goes away, or when it interrupts us (it signals our process group,
	// which the old hosts share, before it kills it).
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := rpcutil.Healthcheck(ctx, args[len(args)-1], 5*time.Minute, cancel); err != nil {
		return fmt.Errorf("health check of the engine: %w", err)
	}
	stop := make(chan bool)
	go func() { <-ctx.Done(); close(stop) }()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, s)
			return nil
		},
	})
	if err != nil {
		return err
	}
	// As every plugin does: the port goes on the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}

// oldHost is one running old host process.
type oldHost struct {
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
	client pulumirpc.LanguageRuntimeClient
}

type shim struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	path string   // the old host's executable
	args []string // this process's arguments, passed on to each old host

	mu    sync.Mutex
	hosts map[string]*oldHost // by the flags they were started with
	first *oldHost            // serves calls that carry no ProgramInfo
}

// flagsFor returns the old host's flags that carry what it needs of info's runtime options.
func flagsFor(info *pulumirpc.ProgramInfo) []string {
	venv, _ := info.GetOptions().AsMap()["virtualenv"].(string)
	if venv == "" {
		return nil
	}
	// The old host resolves a relative virtualenv against -root, as the engine means it.
	return []string{"-virtualenv=" + venv, "-root=" + info.GetRootDirectory()}
}

// host returns the old host for info's options, starting it on first use. Calls that carry no
// ProgramInfo (GetPluginInfo, Handshake, ...) go to whichever old host started first.
func (s *shim) host(info *pulumirpc.ProgramInfo) (pulumirpc.LanguageRuntimeClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info == nil && s.first != nil {
		return s.first.client, nil
	}
	flags := flagsFor(info)
	key := strings.Join(flags, "\x00")
	if h, ok := s.hosts[key]; ok {
		return h.client, nil
	}
	h, err := s.start(flags)
	if err != nil {
		return nil, err
	}
	s.hosts[key] = h
	if s.first == nil {
		s.first = h
	}
	return h.client, nil
}

// start runs the old host with flags before our own arguments, and connects to the port it prints.
func (s *shim) start(flags []string) (*oldHost, error) {
	cmd := exec.Command(s.path, append(flags, s.args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.path, err)
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	port, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s printed no port (%q): %v", s.path, line, errors.Join(err, perr))
	}
	// The rest of its stdout (the Python program's output) is ours, which the engine reads.
	go func() { _, _ = io.Copy(os.Stdout, out) }()

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return &oldHost{cmd: cmd, conn: conn, client: pulumirpc.NewLanguageRuntimeClient(conn)}, nil
}

// close stops every old host.
func (s *shim) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		_ = h.conn.Close()
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
}

// infoOf returns the ProgramInfo a request carries, if its message has one.
func infoOf(req any) *pulumirpc.ProgramInfo {
	if r, ok := req.(interface{ GetInfo() *pulumirpc.ProgramInfo }); ok {
		return r.GetInfo()
	}
	return nil
}

// forward passes a unary call to the old host chosen by the request's ProgramInfo.
func forward[Req, Resp any](ctx context.Context, s *shim, req Req,
	method func(pulumirpc.LanguageRuntimeClient, context.Context, Req, ...grpc.CallOption) (Resp, error),
) (Resp, error) {
	client, err := s.host(infoOf(req))
	if err != nil {
		var none Resp
		return none, err
	}
	return method(client, ctx, req)
}

// forwardStream passes a server-streaming call to the old host, relaying each message back.
func forwardStream[Req, Resp any](s *shim, req Req, server grpc.ServerStreamingServer[Resp],
	method func(pulumirpc.LanguageRuntimeClient, context.Context, Req, ...grpc.CallOption,
	) (grpc.ServerStreamingClient[Resp], error),
) error {
	client, err := s.host(infoOf(req))
	if err != nil {
		return err
	}
	stream, err := method(client, server.Context(), req)
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := server.Send(msg); err != nil {
			return err
		}
	}
}

// RunPlugin fills the deprecated `program`, the only field the old host reads, from info: the
// plugin's directory (its __main__.py runs), or a file in it when the entry point names one.
// Policy packs ran in their own directory before language hosts ran them; so they do here too.
func (s *shim) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if info := req.GetInfo(); req.GetProgram() == "" && info != nil { //nolint:staticcheck // for the old host
		program := info.GetProgramDirectory()
		if entry := info.GetEntryPoint(); entry != "" && entry != "." {
			program = filepath.Join(program, entry)
		}
		req.Program = program //nolint:staticcheck // for the old host
		if req.GetKind() == "analyzer" {
			req.Pwd = info.GetProgramDirectory()
		}
	}
	return forwardStream(s, req, server, pulumirpc.LanguageRuntimeClient.RunPlugin)
}

// Cancel goes to every old host started so far.
func (s *shim) Cancel(ctx context.Context, req *emptypb.Empty) (*emptypb.Empty, error) {
	s.mu.Lock()
	clients := make([]pulumirpc.LanguageRuntimeClient, 0, len(s.hosts))
	for _, h := range s.hosts {
		clients = append(clients, h.client)
	}
	s.mu.Unlock()
	var first error
	for _, c := range clients {
		if _, err := c.Cancel(ctx, req); err != nil && first == nil {
			first = err // keeps its gRPC status (Unimplemented from the old host)
		}
	}
	if first != nil {
		return nil, first
	}
	return &emptypb.Empty{}, nil
}

// Handshake stays Unimplemented, as from the old host: the engine calls it only when attaching to
// an already running host, and falls back on Unimplemented.

// The rest are forwarded as they are.

func (s *shim) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GetRequiredPlugins) //nolint:staticcheck
}

func (s *shim) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GetRequiredPackages)
}

func (s *shim) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.Run)
}

func (s *shim) GetPluginInfo(ctx context.Context, req *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GetPluginInfo)
}

func (s *shim) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	return forwardStream(s, req, server, pulumirpc.LanguageRuntimeClient.InstallDependencies)
}

func (s *shim) RuntimeOptionsPrompts(ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.RuntimeOptionsPrompts)
}

func (s *shim) Template(ctx context.Context, req *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.Template)
}

func (s *shim) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.About)
}

func (s *shim) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GetProgramDependencies)
}

func (s *shim) GenerateProgram(ctx context.Context, req *pulumirpc.GenerateProgramRequest,
) (*pulumirpc.GenerateProgramResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GenerateProgram)
}

func (s *shim) GenerateProject(ctx context.Context, req *pulumirpc.GenerateProjectRequest,
) (*pulumirpc.GenerateProjectResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GenerateProject)
}

func (s *shim) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.GeneratePackage)
}

func (s *shim) Pack(ctx context.Context, req *pulumirpc.PackRequest) (*pulumirpc.PackResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.Pack)
}

func (s *shim) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	return forward(ctx, s, req, pulumirpc.LanguageRuntimeClient.Link)
}
