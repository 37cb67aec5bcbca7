package pluginhost

import (
	"os/exec"
	"syscall"
)

// command builds a plugin's command. On Linux the kernel kills the plugin
// when the gateway dies, even by SIGKILL, so a crashed gateway never leaves
// orphaned plugin processes behind. (The signal follows the OS thread that
// started the plugin; Go retires threads only for goroutines that called
// LockOSThread, which the gateway does not do.)
func command(path string) *exec.Cmd {
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
