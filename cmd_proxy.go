package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/wirelab/wirelab/engine"
)

// wirelab proxy: a relay that forwards exactly, traces both legs, and
// bends the wire on purpose.

const proxyUsage = `usage:
  wirelab proxy [--host H] PORT TARGET [faults] [--direction up|down]
                [--trace[=text]] [--pcap FILE]
      listens on 127.0.0.1:PORT (or H) and relays every connection to
      TARGET (HOST:PORT or unix:PATH), byte for byte, half-close kept,
      until Ctrl-C. Faults, for both directions unless --direction says
      one (up: client to target):
        --slice N          forward in writes of at most N bytes
        --slice-delay MS   and wait MS between them
        --coalesce MS      hold what arrives MS, then forward it in one write
        --delay MS         forward each chunk MS later, order kept
        --jitter MS        plus up to MS more
        --rate BYTES       at most BYTES a second (k and m: 1024 and 1048576)
        --limit BYTES      after BYTES, close both sides
        --reset-after BYTES  after BYTES, reset both sides (RST)
        --stall-after BYTES  after BYTES, forward nothing more, both kept open
  wirelab proxy --udp [--host H] PORT TARGET [--loss P] [--dup P] [--delay MS]
                [--jitter MS] [--rate BYTES] [--direction up|down]
                [--trace[=text]] [--pcap FILE]
      relays datagrams received on PORT to TARGET (HOST:PORT), each whole
      or not at all, from a socket per client, so that answers go back to
      the client that caused them (a client idle for 60 s is forgotten).
        --loss P           drop a datagram with probability P (0 to 1)
        --dup P            send it twice with probability P
        --delay, --jitter, --rate  as above, per datagram, order kept
`

// proxyFlags are proxy's options.
type proxyFlags struct {
	host, direction                   string
	slice                             int
	sliceDelay, coalesce, delay, jit  int
	rate, limit, resetAfter, stallAft sizeFlag
	traceOptions
}

func cmdProxy(args []string, stdout, stderr io.Writer) (code int) {
	var f proxyFlags
	fs := newFlags("proxy")
	fs.StringVar(&f.host, "host", "", "the address to listen on (default 127.0.0.1)")
	fs.StringVar(&f.direction, "direction", "", "the faults' direction: up (client to target) or down; default both")
	fs.IntVar(&f.slice, "slice", 0, "forward in writes of at most N bytes")
	fs.IntVar(&f.sliceDelay, "slice-delay", 0, "milliseconds between slices")
	fs.IntVar(&f.coalesce, "coalesce", 0, "hold what arrives this many milliseconds, then forward it in one write")
	fs.IntVar(&f.delay, "delay", 0, "forward each chunk this many milliseconds later")
	fs.IntVar(&f.jit, "jitter", 0, "up to this many milliseconds more")
	fs.Var(&f.rate, "rate", "at most this many bytes a second")
	fs.Var(&f.limit, "limit", "close both sides after this many bytes")
	fs.Var(&f.resetAfter, "reset-after", "reset both sides after this many bytes")
	fs.Var(&f.stallAft, "stall-after", "forward nothing more after this many bytes")
	udp := fs.Bool("udp", false, "relay datagrams")
	var uf udpFlags
	uf.add(fs)
	f.traceOptions.add(fs)
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, proxyUsage)
		return 0
	}
	if err == nil {
		err = uf.check(fs, *udp)
	}
	if err == nil && *udp {
		return proxyUDP(&f, &uf, pos, stderr)
	}
	var faults engine.Faults
	var port, tport int
	var thost string
	if err == nil {
		faults, err = f.faults()
	}
	if err == nil && len(pos) != 2 {
		err = errors.New("PORT and TARGET expected")
	}
	if err == nil {
		port, err = parsePort(pos[0])
	}
	if err == nil {
		if path, ok := strings.CutPrefix(pos[1], engine.UnixPrefix); ok {
			thost = engine.UnixPrefix + path
		} else {
			thost, tport, err = hostPort(pos[1:])
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: proxy: %v\n%s", err, proxyUsage)
		return 2
	}
	host := "127.0.0.1"
	if f.host != "" {
		host = f.host
	}
	up, down := directed(f.direction, faults)
	ctx, stop := signalContext()
	defer stop()
	tr, endCapture, err := f.tracer(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	defer endCapture(&code)
	ln, err := engine.Listen(ctx, host, port, 0)
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	report := acceptReporter(stderr)
	p := engine.NewProxy(ctx, ln, engine.ProxyOptions{Up: up, Down: down, Trace: tr, Report: report,
		Dial: func(ctx context.Context) (net.Conn, error) { return engine.DialNet(ctx, thost, tport, 30*time.Second) }})
	<-ctx.Done()
	p.Close()
	return 130
}

// faults reads the fault flags.
func (f *proxyFlags) faults() (engine.Faults, error) {
	ms := func(name string, v int) (time.Duration, error) {
		if v < 0 {
			return 0, fmt.Errorf("--%s %d: milliseconds, 0 or more, expected", name, v)
		}
		return time.Duration(v) * time.Millisecond, nil
	}
	var out engine.Faults
	var err error
	for _, d := range []struct {
		name string
		v    int
		to   *time.Duration
	}{{"slice-delay", f.sliceDelay, &out.SliceDelay}, {"coalesce", f.coalesce, &out.Coalesce}, {"delay", f.delay, &out.Delay}, {"jitter", f.jit, &out.Jitter}} {
		if *d.to, err = ms(d.name, d.v); err != nil {
			return out, err
		}
	}
	if f.slice < 0 {
		return out, fmt.Errorf("--slice %d: bytes, 1 or more, expected", f.slice)
	}
	if f.sliceDelay > 0 && f.slice == 0 {
		return out, errors.New("--slice-delay needs --slice")
	}
	switch f.direction {
	case "", "up", "down":
	default:
		return out, fmt.Errorf("--direction %q: up or down expected", f.direction)
	}
	out.Slice, out.Rate, out.Limit, out.ResetAfter, out.StallAfter = f.slice, f.rate.n, f.limit.n, f.resetAfter.n, f.stallAft.n
	return out, nil
}

// directed gives f to both directions, or only to the one dir names
// ("up": client to target; checked already), the other getting none.
func directed[F any](dir string, f F) (up, down F) {
	var none F
	switch dir {
	case "up":
		return f, none
	case "down":
		return none, f
	}
	return f, f
}
