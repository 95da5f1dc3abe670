package lua

import (
	"fmt"
	"io/fs"
)

// The errors of package lua that callers tell apart with errors.As.

// ExitError is raised by a script that asks to end the run with a code,
// as flags.parse does after printing --help.
type ExitError struct{ Code int }

// Error implements error.
func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// ScriptError is a script's failure: its message and traceback.
type ScriptError struct{ Msg string }

// Error implements error.
func (e *ScriptError) Error() string { return e.Msg }

// ScriptNotFoundError says that RunFile or ReadScript found neither a file
// nor a script of that name. It matches fs.ErrNotExist.
type ScriptNotFoundError struct{ Name string }

// Error implements error.
func (e *ScriptNotFoundError) Error() string {
	return fmt.Sprintf("no script file or bundled script called %q", e.Name)
}

// Unwrap returns fs.ErrNotExist.
func (e *ScriptNotFoundError) Unwrap() error { return fs.ErrNotExist }

// TransferError says a value cannot move to another state.
type TransferError struct{ What string }

// Error implements error.
func (e *TransferError) Error() string {
	return "cannot pass " + e.What + " to another task"
}
