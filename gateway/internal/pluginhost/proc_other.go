//go:build !linux

package pluginhost

import "os/exec"

// command builds a plugin's command.
func command(path string) *exec.Cmd { return exec.Command(path) }
