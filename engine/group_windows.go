package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// shellCommand makes the command that runs the shell command line shell:
// cmd.exe /d /s /c "shell". /s keeps the line as written (cmd strips the
// outer quotes only), /d skips the AutoRun commands of the registry. The
// command line is given whole: Go's quoting of arguments is the C
// runtime's, which cmd.exe does not follow.
func shellCommand(shell string) *exec.Cmd {
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = "cmd.exe"
	}
	cmd := exec.Command(comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + comspec + `" /d /s /c "` + shell + `"`}
	return cmd
}

// setGroupAttr has cmd created suspended, so that startGroup puts it in
// its job object before it can start anything.
func setGroupAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
}

// killExitCode is the exit status of a process that the group killed:
// 137, as a shell reports a SIGKILL (128+9).
const killExitCode = 137

// A procGroup is everything a command started: on Windows a job object
// holding the command from its first instruction, so that its children
// and theirs are in it too (a process cannot leave it). The job is made
// to kill them all when its last handle closes (KILL_ON_JOB_CLOSE), so
// wirelab's own end ends them as well.
type procGroup struct {
	job windows.Handle

	mu       sync.Mutex
	reaped   bool // the leader was waited for
	killed   bool // the job was terminated before the leader was reaped
	released bool
}

// startGroup starts cmd suspended (setGroupAttr), assigns it to a new job
// object, then lets it run.
func startGroup(cmd *exec.Cmd) (*procGroup, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("job object: %w", err)
	}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return nil, err
	}
	g := &procGroup{job: job}
	if err := assignAndResume(job, uint32(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		g.release()
		return nil, err
	}
	return g, nil
}

// assignAndResume puts process pid, created suspended, in job, then
// resumes its threads (its only one: it has run no code yet).
func assignAndResume(job windows.Handle, pid uint32) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("job object: opening the process: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		return fmt.Errorf("job object: %w", err)
	}
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("resuming the process: %w", err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("resuming the process: %w", err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resuming the process: %w", err)
		}
		resumed++
	}
	if resumed == 0 {
		return fmt.Errorf("resuming the process: no thread of process %d found", pid)
	}
	return nil
}

// kill terminates every process of the job.
func (g *procGroup) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.released {
		return
	}
	if windows.TerminateJobObject(g.job, killExitCode) == nil && !g.reaped {
		g.killed = true
	}
}

// signal ends the job's processes for the signals that end a process by
// default; Windows delivers no others.
func (g *procGroup) signal(sig syscall.Signal) error {
	switch sig {
	case 0:
		return nil
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
		g.kill()
		return nil
	}
	return fmt.Errorf("signal %d: Windows has no signals to send; KILL, TERM, INT, HUP or QUIT end the process and its children", int(sig))
}

// exited tells the group that its leader was reaped: a kill from now on
// no longer counts as what ended it.
func (g *procGroup) exited() {
	g.mu.Lock()
	g.reaped = true
	g.mu.Unlock()
}

// release closes the job, which ends whatever is still in it.
func (g *procGroup) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.released {
		g.released = true
		windows.CloseHandle(g.job)
	}
}

// signalName names what ended the leader: "killed", as SIGKILL is named,
// when the group terminated it, "" when it exited.
func (g *procGroup) signalName(ps *os.ProcessState) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.killed && ps.ExitCode() == killExitCode {
		return syscall.SIGKILL.String()
	}
	return ""
}

// outputPipe returns a pipe a child writes to, inputPipe one it reads
// from. wirelab's end is opened for overlapped I/O, so that it is
// pollable and takes deadlines as os.Pipe's ends do on Unix (os.Pipe's
// are synchronous on Windows, without deadlines); the child's end is
// synchronous, as programs expect of their standard handles.
func outputPipe() (r, w *os.File, err error) { return newPipePair(true, false) }

func inputPipe() (r, w *os.File, err error) { return newPipePair(false, true) }

// newPipePair returns a pipe; overR and overW say which ends are opened
// for overlapped I/O (pollable, with deadlines) and which synchronously.
func newPipePair(overR, overW bool) (r, w *os.File, err error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	name, err := windows.UTF16PtrFromString(fmt.Sprintf(`\\.\pipe\wirelab-%d-%s`, os.Getpid(), hex.EncodeToString(rnd[:])))
	if err != nil {
		return nil, nil, err
	}
	flags := uint32(windows.PIPE_ACCESS_INBOUND | windows.FILE_FLAG_FIRST_PIPE_INSTANCE)
	if overR {
		flags |= windows.FILE_FLAG_OVERLAPPED
	}
	rh, err := windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		1, 64<<10, 64<<10, 0, nil)
	if err != nil {
		return nil, nil, os.NewSyscallError("CreateNamedPipe", err)
	}
	wflags := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	if overW {
		wflags |= windows.FILE_FLAG_OVERLAPPED
	}
	wh, err := windows.CreateFile(name, windows.GENERIC_WRITE|windows.FILE_READ_ATTRIBUTES, 0, nil, windows.OPEN_EXISTING, wflags, 0)
	if err != nil {
		windows.CloseHandle(rh)
		return nil, nil, os.NewSyscallError("CreateFile", err)
	}
	return os.NewFile(uintptr(rh), "|0"), os.NewFile(uintptr(wh), "|1"), nil
}
