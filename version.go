package main

import (
	"runtime/debug"
)

// versionString describes this build for `wirelab version`.
func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return describeBuild(version, info)
}

// describeBuild describes a build: the version set with -ldflags (set is
// "dev" when none was), or else the module version; then the VCS revision
// that the Go toolchain stamps into a binary built in a git checkout, with
// "+modified" when the working tree had changes, the commit's time, and
// the Go version.
func describeBuild(set string, info *debug.BuildInfo) string {
	if info == nil {
		return "wirelab " + set
	}
	v := set
	if v == "dev" {
		v = info.Main.Version
		if v == "" {
			v = "(devel)"
		}
	}
	var rev, when, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	out := "wirelab " + v
	if rev != "" {
		out += " " + rev + modified
		if when != "" {
			out += " " + when
		}
	}
	return out + " " + info.GoVersion
}
