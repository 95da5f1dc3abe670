//go:build windows && wine

package winefix

import (
	_ "unsafe" // go:linkname

	"golang.org/x/sys/windows"
)

// deleteatFallback is the standard library's switch to its older way of
// removing a file (FileDispositionInfo), which Wine has.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() {
	// Only Wine's ntdll exports wine_get_version.
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		deleteatFallback = true
	}
}
