package lua

import (
	"strconv"

	"golang.org/x/sys/windows"
)

// codePages names the Windows code pages by the names text.decode takes.
var codePages = map[uint32]string{
	936: "gbk", 54936: "gb18030", 950: "big5", 932: "shift_jis", 949: "euc-kr",
	65001: "utf-8", 1200: "utf-16le", 1201: "utf-16be", 20127: "utf-8", 28591: "iso-8859-1",
	866: "ibm866", 437: "ibm437", 850: "ibm850", 874: "windows-874",
	1250: "windows-1250", 1251: "windows-1251", 1252: "windows-1252", 1253: "windows-1253",
	1254: "windows-1254", 1255: "windows-1255", 1256: "windows-1256", 1257: "windows-1257", 1258: "windows-1258",
}

// consoleEncoding is the encoding of what commands write on this
// system: the console's output code page (GetConsoleOutputCP), or the
// system's ANSI code page (GetACP) when wirelab has no console; 936 is
// gbk. A code page without a name here is "windows-N", which text.decode
// refuses with an error naming it.
func consoleEncoding() string {
	cp, err := windows.GetConsoleOutputCP()
	if err != nil || cp == 0 {
		cp = windows.GetACP()
	}
	if name, ok := codePages[cp]; ok {
		return name
	}
	return "windows-" + strconv.FormatUint(uint64(cp), 10)
}
