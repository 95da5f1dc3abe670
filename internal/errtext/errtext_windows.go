package errtext

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// A cError is an errno of the C runtime and its text, in lower case as
// Go writes Unix's.
type cError struct {
	errno int
	text  string
}

// cErrors are the C runtime's errno and text for the Windows error codes
// of the failures a script meets with files (as the C runtime maps them,
// _dosmaperr).
var cErrors = map[syscall.Errno]cError{
	windows.ERROR_FILE_NOT_FOUND:    {2, "no such file or directory"},
	windows.ERROR_PATH_NOT_FOUND:    {2, "no such file or directory"},
	windows.ERROR_INVALID_NAME:      {2, "no such file or directory"},
	windows.ERROR_ACCESS_DENIED:     {13, "permission denied"},
	windows.ERROR_SHARING_VIOLATION: {13, "permission denied"},
	windows.ERROR_FILE_EXISTS:       {17, "file exists"},
	windows.ERROR_ALREADY_EXISTS:    {17, "file exists"},
	windows.ERROR_DIRECTORY:         {20, "not a directory"},
	windows.ERROR_DIR_NOT_EMPTY:     {41, "directory not empty"},
	windows.ERROR_DISK_FULL:         {28, "no space left on device"},
	windows.ERROR_HANDLE_DISK_FULL:  {28, "no space left on device"},
	// syscall's own EINVAL, a value Go invented on Windows.
	syscall.EINVAL: {22, "invalid argument"},
}

// Text returns the C runtime's text and errno for the Windows error code
// errno, and whether it knows the code.
func Text(errno syscall.Errno) (text string, cErrno int, ok bool) {
	if e, ok := cErrors[errno]; ok {
		return e.text, e.errno, true
	}
	return "", 0, false
}
