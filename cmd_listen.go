package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wirelab/wirelab/engine"
)

// wirelab listen: the other end, as ncat -l does.

// listenFlags are listen's options.
type listenFlags struct {
	tls, udp, keepOpen    bool
	host, cert, key, exec string
	maxRunning            int
	traceOptions
}

func cmdListen(args []string, stdin *os.File, stdout, stderr io.Writer) (code int) {
	var f listenFlags
	fs := newFlags("listen")
	fs.BoolVar(&f.tls, "tls", false, "speak TLS")
	fs.BoolVar(&f.udp, "udp", false, "take datagrams")
	f.traceOptions.add(fs)
	fs.BoolVar(&f.keepOpen, "keep-open", false, "serve any number of connections")
	fs.StringVar(&f.host, "host", "", "the address to bind")
	fs.StringVar(&f.cert, "cert", "", "the certificate, with --tls")
	fs.StringVar(&f.key, "key", "", "its key, with --tls")
	fs.StringVar(&f.exec, "exec", "", "run sh -c CMD per connection")
	fs.IntVar(&f.maxRunning, "max-running", engine.DefaultMaxRunning(), "with --exec, the commands run at once; the rest wait in line")
	pos, err := parseFlags(fs, args)
	if err == nil {
		err = checkExecFlags(fs, f)
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, netUsage)
		return 0
	}
	host, port := "127.0.0.1", 0
	if err == nil {
		// PORT alone, or an address as connect takes it (ncat -l takes
		// both too); --host is the older way to give HOST.
		var named string
		switch {
		case len(pos) == 1 && !strings.ContainsAny(pos[0], ":[]"):
			port, err = parsePort(pos[0])
		case len(pos) == 1 || len(pos) == 2:
			named, port, err = hostPort(pos)
			if err == nil && f.host != "" && f.host != named {
				err = fmt.Errorf("two hosts: %s and --host %s", named, f.host)
			}
		default:
			err = errors.New("PORT, HOST PORT or HOST:PORT expected")
		}
		switch {
		case named != "":
			host = named
		case f.host != "":
			host = f.host
		}
	}
	if err == nil && (f.tls != (f.cert != "" || f.key != "") || f.tls && (f.cert == "" || f.key == "")) {
		err = errors.New("--tls needs --cert FILE and --key FILE (wirelab cert DIR makes a pair)")
	}
	if err == nil && f.udp && (f.tls || f.exec != "" || f.keepOpen || strings.HasPrefix(host, engine.UnixPrefix)) {
		err = errors.New("--udp goes with none of --tls, --exec, --keep-open and a unix:PATH address")
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n%s", err, netUsage)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	if f.exec != "" && !engine.IsLoopback(host) {
		fmt.Fprintf(stderr, "wirelab: warning: --exec on %s runs %q for anyone who can reach it\n", host, f.exec)
	}
	if f.udp {
		return listenUDP(ctx, host, port, &f.traceOptions, stdin, stdout, stderr)
	}
	var ln *engine.Listener
	if f.tls {
		var cfg *tls.Config
		cfg, err = engine.ServerConfig(f.cert, f.key)
		if err == nil {
			ln, err = engine.ListenTLS(ctx, host, port, 0, cfg)
		}
	} else {
		ln, err = engine.Listen(ctx, host, port, 0)
	}
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer ln.Close()
	tr, endCapture, err := f.tracer(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	defer endCapture(&code)
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	accept := func() (*engine.Conn, error) {
		c, err := ln.Accept(ctx)
		if err == nil && tr != nil {
			c.SetTracer(tr)
		}
		return c, err
	}
	if !f.keepOpen {
		c, err := accept()
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		ln.Close()
		if f.exec != "" {
			err = execOn(ctx, c, f.exec, nil, stderr)
		} else {
			err = bridge(ctx, c, stdin, stdout)
		}
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		return 0
	}
	// --keep-open: every connection served at once, through the engine's
	// accept loop, which backs off when accept fails (out of descriptors)
	// and serves again once they free up. Without --exec what they send
	// goes to stdout and stdin goes to all of them.
	var mu sync.Mutex
	live := map[*engine.Conn]bool{}
	if f.exec == "" {
		go broadcast(stdin, &mu, live)
	}
	// The commands of --exec run at most --max-running at once; the
	// connections beyond wait in line, first come first served.
	slots := engine.NewLimiter(f.maxRunning)
	o := engine.ServerOptions{IdleTimeout: -1, Grace: -1, Report: acceptReporter(stderr)}
	srv := engine.Serve(ctx, ln, o, func(ctx context.Context, c *engine.Conn) {
		if tr != nil {
			c.SetTracer(tr)
		}
		if f.exec != "" {
			if err := execOn(ctx, c, f.exec, slots, stderr); err != nil && ctx.Err() == nil {
				fmt.Fprintf(stderr, "wirelab: %s: %v\n", c.RemoteAddr(), err)
			}
			return
		}
		mu.Lock()
		live[c] = true
		mu.Unlock()
		for {
			b, err := c.Recv(ctx, 32<<10) // ends with ctx: Ctrl-C
			if len(b) > 0 {
				mu.Lock()
				stdout.Write(b)
				mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		mu.Lock()
		delete(live, c)
		mu.Unlock()
	})
	<-srv.Done()
	return 130
}

// checkExecFlags refuses what would run something other than the user
// meant: --exec followed by a flag (--exec --keep-open takes the flag as
// the command), an empty --exec (silently a plain listen), and
// --max-running without --exec or below 1.
func checkExecFlags(fs *flag.FlagSet, f listenFlags) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case set["exec"] && strings.TrimSpace(f.exec) == "":
		return errors.New("--exec needs a command: --exec 'CMD' runs sh -c CMD for every connection")
	case strings.HasPrefix(f.exec, "-"):
		return fmt.Errorf("--exec takes the command to run, and got the flag %s: put the command, quoted, right after --exec ('--exec \"cat\" %s')", f.exec, f.exec)
	case set["max-running"] && f.exec == "":
		return errors.New("--max-running goes with --exec")
	case f.maxRunning < 1:
		return fmt.Errorf("--max-running %d: at least 1 command must be let run", f.maxRunning)
	}
	return nil
}

// acceptReporter writes the accept errors a --keep-open listener
// survives, the same one at most once every 5 s with the count of those
// left out, so that running out of descriptors is said, not shouted.
func acceptReporter(stderr io.Writer) func(error) {
	var last string
	var at time.Time
	quiet := 0
	return func(err error) {
		msg := err.Error()
		if msg == last && time.Since(at) < 5*time.Second {
			quiet++
			return
		}
		if quiet > 0 {
			fmt.Fprintf(stderr, "wirelab: (%d more accept errors)\n", quiet)
		}
		fmt.Fprintf(stderr, "wirelab: %v (still listening)\n", err)
		last, at, quiet = msg, time.Now(), 0
	}
}

// broadcast sends what stdin gives to every live connection.
func broadcast(stdin io.Reader, mu *sync.Mutex, live map[*engine.Conn]bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			mu.Lock()
			for c := range live {
				c.SetTimeout(5 * time.Second) // one stalled client does not stop the rest for long
				c.Write(buf[:n])
			}
			mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// execGrace is how long a command may go on without writing once its
// client's stream has ended (counted from the later of the two): output
// in flight still reaches the client, and then the command's process
// group is killed, so a client that connects and leaves does not leave a
// process behind.
const execGrace = 2 * time.Second

// execOn runs "sh -c cmd" (cmd.exe on Windows) with its stdin and stdout on c, as ncat --exec
// does; its stderr is wirelab's. With slots it first waits for a slot, in
// line. The command leads its own process group, which is killed when the
// command exits, when wirelab is interrupted, when sending its output to
// the client fails, and once the client's stream has ended and the
// command has written nothing for execGrace since.
func execOn(ctx context.Context, c *engine.Conn, cmd string, slots *engine.Limiter, stderr io.Writer) error {
	defer c.Close()
	release := func() {}
	if slots != nil {
		var err error
		if release, err = slots.Acquire(ctx); err != nil {
			return err
		}
		defer release() // releasing twice is harmless
	}
	p := engine.ShellCommand(cmd)
	// Both streams through pipes of our own: exec's copying would hold
	// Wait until the peer sends or closes, and would hide when the
	// command last wrote.
	inR, inW, err := engine.InputPipe()
	if err != nil {
		return err
	}
	defer inW.Close()
	outR, outW, err := engine.OutputPipe()
	if err != nil {
		inR.Close()
		return err
	}
	defer outR.Close()
	p.Stdin, p.Stdout, p.Stderr = inR, outW, stderr
	// A background child that keeps a stderr pipe open does not hold
	// Wait for long once the command is gone.
	p.WaitDelay = 200 * time.Millisecond
	group, err := engine.StartGroup(p)
	inR.Close()
	outW.Close()
	if err != nil {
		return err
	}
	defer group.Release()
	kill := group.Kill
	out := startOutput(c, outR, kill)
	inDone := make(chan struct{})
	go func() {
		defer close(inDone)
		_, err := io.Copy(inW, c)
		inW.Close() // the peer's end of stream is the command's
		if err != nil {
			// The command stopped reading (it ended): keep reading what
			// the peer still sends, so that closing does not reset the
			// connection and lose the command's last output on the way.
			io.Copy(io.Discard, c)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	// Each case fires once: a channel that has fired is set to nil.
	var idle <-chan time.Time // ticks once the client's stream has ended
	stopped, failed, ended := ctx.Done(), out.failed, (<-chan struct{})(inDone)
wait:
	for {
		select {
		case err = <-exited:
			break wait
		case <-stopped:
			stopped = nil
			kill()
		case <-failed:
			failed = nil
			kill() // the client is gone: nobody reads the output
		case <-ended:
			ended = nil
			out.touch() // the grace counts from here at the earliest
			t := time.NewTicker(execGrace / 4)
			defer t.Stop()
			idle = t.C
		case <-idle:
			if out.idleFor() >= execGrace {
				idle = nil
				kill()
			}
		}
	}
	// What the command left running in its group goes with it.
	kill()
	// The output written before the end is sent; a process that left the
	// group and holds the pipe is cut off after a grace.
	select {
	case <-out.done:
	case <-time.After(execGrace):
		outR.SetReadDeadline(time.Now())
		<-out.done
	}
	release() // the command is gone: the next in line may start
	// Half-close, and let the peer's last bytes drain briefly.
	c.CloseWrite()
	select {
	case <-inDone:
	case <-time.After(time.Second):
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) || errors.Is(err, exec.ErrWaitDelay) {
		return nil // the command's own status is the command's business
	}
	return err
}

// execOutput copies a command's stdout to its client and notes when it
// last wrote.
type execOutput struct {
	mu      sync.Mutex
	sending bool      // a write to the client is under way
	last    time.Time // when the latest write to the client ended
	failed  chan struct{}
	done    chan struct{} // closed once the output has ended or failed
}

// startOutput copies from r to c until r ends, calling kill (and closing
// failed) when a write to c fails.
func startOutput(c *engine.Conn, r *os.File, kill func()) *execOutput {
	o := &execOutput{last: time.Now(), failed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		buf := make([]byte, 32<<10)
		for {
			n, rerr := r.Read(buf)
			if n > 0 {
				o.mark(true)
				_, werr := c.Write(buf[:n])
				o.mark(false)
				if werr != nil {
					kill()
					close(o.failed)
					return
				}
			}
			if rerr != nil {
				return
			}
		}
	}()
	return o
}

func (o *execOutput) mark(sending bool) {
	o.mu.Lock()
	o.sending, o.last = sending, time.Now()
	o.mu.Unlock()
}

// touch restarts the idle clock, as a write would.
func (o *execOutput) touch() {
	o.mu.Lock()
	o.last = time.Now()
	o.mu.Unlock()
}

// idleFor returns how long the command has written nothing: 0 while its
// output is being sent (a slow client is still taking it).
func (o *execOutput) idleFor() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sending {
		return 0
	}
	return time.Since(o.last)
}

// listenUDP prints the datagrams that arrive and sends each chunk of
// stdin to the latest sender.
func listenUDP(ctx context.Context, host string, port int, trace *traceOptions, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer pc.Close()
	context.AfterFunc(ctx, func() { pc.Close() })
	tr, endCapture, err := trace.tracer(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	defer endCapture(&code)
	fmt.Fprintf(stderr, "listening on %s\n", pc.LocalAddr())
	var mu sync.Mutex
	var last net.Addr
	go func() {
		buf := make([]byte, engine.MaxDatagram)
		for {
			n, err := stdin.Read(buf)
			mu.Lock()
			to := last
			mu.Unlock()
			if n > 0 && to != nil {
				if tr != nil {
					tr.Datagram(true, pc.LocalAddr(), to, buf[:n])
				}
				pc.WriteTo(buf[:n], to)
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		mu.Lock()
		last = from
		mu.Unlock()
		if tr != nil {
			tr.Datagram(false, pc.LocalAddr(), from, buf[:n])
		}
		stdout.Write(buf[:n])
	}
}
