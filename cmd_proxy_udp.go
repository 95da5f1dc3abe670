package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wirelab/wirelab/engine"
)

// wirelab proxy --udp: the datagram relay.

// A probability is a flag from 0 to 1: --loss 0.1.
type probability struct {
	p   float64
	set bool
}

func (p *probability) String() string { return strconv.FormatFloat(p.p, 'g', -1, 64) }

// Set parses a probability.
func (p *probability) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= 1) {
		return fmt.Errorf("%q is not a probability: give a number from 0 to 1 (0.1: one datagram in ten)", s)
	}
	p.p, p.set = v, true
	return nil
}

// udpFlags are the flags of datagram faults.
type udpFlags struct{ loss, dup probability }

func (u *udpFlags) add(fs *flag.FlagSet) {
	fs.Var(&u.loss, "loss", "with --udp: the probability (0 to 1) that a datagram is dropped")
	fs.Var(&u.dup, "dup", "with --udp: the probability (0 to 1) that a datagram is sent twice")
}

// tcpOnly are the faults of a byte stream, which a datagram relay has
// not: a datagram goes whole or not at all.
var tcpOnly = []string{"slice", "slice-delay", "coalesce", "limit", "reset-after", "stall-after"}

// check refuses the faults that the relay's kind has not: the stream's
// with --udp, the datagrams' without.
func (u *udpFlags) check(fs *flag.FlagSet, udp bool) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad []string
	if udp {
		for _, name := range tcpOnly {
			if set[name] {
				bad = append(bad, "--"+name)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s: TCP only, not with --udp (datagrams take --loss, --dup, --delay, --jitter, --rate)", strings.Join(bad, ", "))
		}
		return nil
	}
	for _, name := range []string{"loss", "dup"} {
		if set[name] {
			bad = append(bad, "--"+name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: datagram faults, for --udp only", strings.Join(bad, ", "))
	}
	return nil
}

// proxyUDP runs wirelab proxy --udp with the flags parsed and the
// positional arguments pos.
func proxyUDP(f *proxyFlags, u *udpFlags, pos []string, stderr io.Writer) (code int) {
	tf, err := f.faults()
	var port, tport int
	var thost string
	if err == nil && len(pos) != 2 {
		err = errors.New("PORT and TARGET expected")
	}
	if err == nil {
		port, err = parsePort(pos[0])
	}
	if err == nil && strings.HasPrefix(pos[1], engine.UnixPrefix) {
		err = errors.New("--udp: TARGET is HOST:PORT (datagrams go to UDP ports, not unix: sockets)")
	}
	if err == nil {
		thost, tport, err = hostPort(pos[1:])
	}
	if err == nil && tport == 0 {
		err = errors.New("--udp: TARGET needs a port from 1 to 65535")
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: proxy: %v\n%s", err, proxyUsage)
		return 2
	}
	host := "127.0.0.1"
	if f.host != "" {
		host = f.host
	}
	faults := engine.UDPFaults{Loss: u.loss.p, Dup: u.dup.p, Delay: tf.Delay, Jitter: tf.Jitter, Rate: tf.Rate}
	up, down := directed(f.direction, faults)
	ctx, stop := signalContext()
	defer stop()
	tr, endCapture, err := f.tracer(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	defer endCapture(&code)
	p, err := engine.NewUDPProxy(ctx, host, port, thost, tport, engine.UDPProxyOptions{Up: up, Down: down, Trace: tr, Report: acceptReporter(stderr)})
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	fmt.Fprintf(stderr, "listening on %s\n", p.Addr())
	<-ctx.Done()
	p.Close()
	return 130
}
