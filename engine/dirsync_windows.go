package engine

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// syncDir flushes root's directory, where a received file was just
// renamed or linked, so that its new name is on disk too: Windows lets
// FlushFileBuffers take a directory opened for writing with
// FILE_FLAG_BACKUP_SEMANTICS (NTFS flushes its entries). Where that is
// refused the file's own flush (settle) is what there is.
func syncDir(root *os.Root) {
	dir, err := filepath.Abs(root.Name())
	if err != nil {
		return
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return
	}
	windows.FlushFileBuffers(h)
	windows.CloseHandle(h)
}
