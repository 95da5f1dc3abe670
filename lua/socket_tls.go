package lua

import (
	"crypto/tls"
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// Options of socket.connect, socket.listen and socket.serve that concern
// TLS and Unix sockets, and the check that an options table names only
// keys its function knows.

// checkOptionKeys raises "bad argument #n to 'fname' (unknown option 'k';
// did you mean ...?)" for a key of opts, a nested options table (tls=,
// trace's), that is not one of known, as optTable does for the outer one.
func checkOptionKeys(L *glua.LState, n int, fname string, opts *glua.LTable, known ...string) {
	if opts != nil {
		checkOptions(L, n, opts, known)
	}
}

// addrArgs reads the host and port arguments at 1 and 2 of connect,
// listen and serve, and returns the index of the next argument. A host
// "unix:PATH" names a Unix-domain socket, and its port may be left out.
// dflt is the host when argument 1 is nil ("" to require one).
func addrArgs(L *glua.LState, dflt string) (host string, port, next int) {
	if dflt != "" && L.Get(1) == glua.LNil {
		host = dflt
	} else {
		host = L.CheckString(1)
	}
	if strings.HasPrefix(host, engine.UnixPrefix) {
		if _, ok := L.Get(2).(glua.LNumber); !ok {
			return host, 0, 2
		}
	}
	return host, checkPort(L, 2), 3
}

// clientTLS reads the tls option of socket.connect: nil when absent or
// false, the defaults for true, or a table {verify=, sni=, ca=,
// fingerprint=, keylog=}.
func clientTLS(L *glua.LState, n int, opts *glua.LTable) *engine.TLSOptions {
	switch v := optField(opts, "tls").(type) {
	case *glua.LNilType:
		return nil
	case glua.LBool:
		if !v {
			return nil
		}
		return &engine.TLSOptions{}
	case *glua.LTable:
		checkOptionKeys(L, n, "connect", v, "verify", "sni", "ca", "fingerprint", "keylog")
		o := &engine.TLSOptions{
			Insecure:    !optBool(L, v, "verify", true),
			ServerName:  optString(L, v, "sni", ""),
			CAFile:      optString(L, v, "ca", ""),
			Fingerprint: optString(L, v, "fingerprint", ""),
			KeyLog:      optString(L, v, "keylog", ""),
		}
		if o.Fingerprint != "" {
			if _, err := engine.ParseFingerprint(o.Fingerprint); err != nil {
				L.ArgError(n, "tls: "+err.Error())
			}
		}
		return o
	default:
		L.ArgError(n, "option tls: true or a table {verify=, sni=, ca=, fingerprint=, keylog=} expected, got "+v.Type().String())
	}
	return nil
}

// warnInsecure says on stderr, once a run, that a connection does not
// check the server's certificate (tls = {verify = false}): the setting is
// easy to leave in a script that was only meant to be tried out.
func (rt *Runtime) warnInsecure(host string, port int) {
	rt.insecure.Do(func() {
		rt.reportf("wirelab: warning: tls verify = false: the certificate of %s is not checked, so anyone on the way can pose as the server (said once a run)\n", engine.DialAddr(host, port))
	})
}

// serverTLS reads the tls option of socket.listen and socket.serve, a
// table {cert=, key=, keylog=}; nil when absent.
func serverTLS(L *glua.LState, n int, fname string, opts *glua.LTable) *tls.Config {
	switch v := optField(opts, "tls").(type) {
	case *glua.LNilType:
		return nil
	case *glua.LTable:
		checkOptionKeys(L, n, fname, v, "cert", "key", "keylog")
		cert, key := optString(L, v, "cert", ""), optString(L, v, "key", "")
		if cert == "" || key == "" {
			L.ArgError(n, "option tls needs cert and key (PEM files; wirelab cert DIR makes a pair)")
		}
		cfg, err := engine.ServerConfig(cert, key)
		if err != nil {
			L.ArgError(n, err.Error())
		}
		if path := optString(L, v, "keylog", ""); path != "" {
			if cfg.KeyLogWriter, err = engine.KeyLogFile(path); err != nil {
				L.ArgError(n, "tls: keylog: "+err.Error())
			}
		}
		return cfg
	default:
		L.ArgError(n, fmt.Sprintf("option tls: a table {cert=, key=} expected, got %s", v.Type()))
	}
	return nil
}

// listenOn opens the listener of socket.listen and socket.serve: TLS with
// cfg when it is set, plain otherwise.
func listenOn(L *glua.LState, host string, port int, backlog int64, cfg *tls.Config) (*engine.Listener, error) {
	if cfg != nil {
		return engine.ListenTLS(ctxOf(L), host, port, int(backlog), cfg)
	}
	return engine.Listen(ctxOf(L), host, port, int(backlog))
}

func connTLS(L *glua.LState) int {
	c := checkConn(L, 1)
	st, ok, err := c.TLS(ctxOf(L))
	if !ok {
		L.Push(glua.LNil)
		L.Push(glua.LString("not tls"))
		return 2
	}
	if err != nil {
		return fail(L, err)
	}
	t := L.CreateTable(0, 5)
	t.RawSetString("version", glua.LString(st.Version))
	t.RawSetString("cipher", glua.LString(st.Cipher))
	if st.Fingerprint != "" {
		t.RawSetString("fingerprint", glua.LString(st.Fingerprint))
	}
	if st.ServerName != "" {
		t.RawSetString("server_name", glua.LString(st.ServerName))
	}
	if st.ALPN != "" {
		t.RawSetString("alpn", glua.LString(st.ALPN))
	}
	L.Push(t)
	return 1
}
