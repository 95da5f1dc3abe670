package repl

import "os"

// keyFeed is nothing on Windows: the line editor reads the console's key
// events one at a time, so it never takes keys typed after its Enter.
type keyFeed struct{ editorIn *os.File }

func newKeyFeed() *keyFeed { return nil }

func (f *keyFeed) start() {}
func (f *keyFeed) stop()  {}
func (f *keyFeed) close() {}
