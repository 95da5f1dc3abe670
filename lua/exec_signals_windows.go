package lua

import "syscall"

// signals are the names kill takes, with or without "SIG". Windows has no
// signals: these end the process and its children (engine.Process.Kill);
// the others Unix has are unknown here.
var signals = map[string]syscall.Signal{
	"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT,
}
