package scripts_test

import "errors"

// mkfifo fails: Windows has no FIFOs in a directory.
func mkfifo(path string) error { return errors.ErrUnsupported }
