// Package lua binds wirelab's engine to gopher-lua. Every task, connection
// handler and the main script runs in a state of its own, on a goroutine of
// its own; values move between states by copy (transfer.go), Go objects as
// their class says (classes.go, transfer_rules.go).
//
// A Go program embeds wirelab with NewRuntime (runtime.go): Options choose
// the libraries left out (a sandbox without exec), add the program's own
// modules, and give the standard files, a script filesystem and a context;
// Run or RunFile runs a script, Close ends it all.
//
// The files, by what they serve:
//
//	socket.go             the socket module: connect, listen, udp, trace
//	socket_conn.go        the conn class: its state, its ends, close
//	socket_send.go        c:send, c:sendline, c:sendafter, c:sendlineafter
//	socket_recv.go        c:recv, c:recv_exact, c:recvline, c:recv_until, c:recv_all, c:unrecv
//	socket_frame.go       c:send_frame, c:recv_frame, c:send_msg, c:recv_msg
//	socket_file.go        c:send_file, c:recv_file (and its confirm option)
//	socket_blob.go        the blob class: bytes kept in Go
//	socket_listener.go    the listener class
//	socket_server.go      socket.serve and the server class
//	socket_udp.go         the udp class
//	socket_proxy.go       socket.proxy: the relay, its faults and hooks; the proxy and session classes
//	socket_proxy_udp.go   socket.proxy{udp = true}: the datagram relay
//	socket_tls.go         the tls options and c:tls
//	socket_trace.go       socket.trace and c:trace
//	socket_interactive.go c:interactive
//	exec.go               the exec module: exec.run, exec.spawn, exec.limiter
//	exec_process.go       the process class
//	exec_limiter.go       exec.limiter and its class: commands at once, in line
//	task.go               the task module: spawn, sleep, now, the task class
//	task_chan.go          task.channel
//	task_dict.go          task.shared
//	task_penalties.go     task.penalties
//	task_unwaited.go      reporting failed tasks nobody waits for
//	hash.go, json.go, struct.go, text.go, term.go, flags.go: those modules
//
// The runtime:
//
//	runtime.go   Runtime, Options, NewRuntime, Run, Close
//	state.go     a state's Go side, lazy libraries, the runtime's state list
//	libs.go      the one list of libraries and modules, and how they open
//	classes.go   the one list of classes, and their metatables
//	libviews.go  the libraries every state shares, and each state's view of them
//	transfer.go, transfer_rules.go  values and objects moving between states
//	run.go, load.go, locals.go       running and compiling chunks
//	concat.go    concatenation bounded by MaxString, as the loader compiles it
//	pcall.go     Lua 5.1's pcall, xpcall, error, coroutines
//	errname.go, errargs.go, vmframe.go, syntax51.go  errors in Lua 5.1's words
//	suggest.go   "did you mean ...?"
//	memory.go, memsize.go  the memory budget: the heap monitor, and what a state holds
//	help.go      help() at the prompt
//	args.go      argument and option helpers
//	errors.go    the package's public error types
//	lib_base.go, lib_debug.go  the base and debug libraries' Lua 5.1 corrections
//
// The Lua 5.1 string, pattern, table, math, io and os libraries are a
// package of their own, lua/internal/lua51.
package lua
