// Package winefix works around what Wine 8.0 lacks that Go's standard
// library uses, in binaries built with the build tag "wine" (and
// -ldflags=-checklinkname=0) by internal/wine/run.sh; without the tag it
// is empty. Wine 8.0 answers FileDispositionInformationEx, with which
// Go 1.26 removes files inside an os.Root and in os.RemoveAll, with
// STATUS_NOT_IMPLEMENTED ("Invalid function"), where Go falls back to the
// older call only for the statuses Windows gives. Under Wine, the binary
// takes the fallback at once; on Windows nothing changes.
package winefix
