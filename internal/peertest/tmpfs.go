package peertest

import (
	"os/exec"
	"testing"
)

// SmallDisk mounts a tmpfs of size (mount's size=, e.g. "256k", "2m") on a
// new temporary folder, a real file system that fills up, and unmounts it
// in Cleanup (registered after the folder, so it runs before the folder
// is removed). Mounting needs root, which CI has: elsewhere the test is
// skipped, saying why; with CI=true it fails instead.
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	RequireRoot(t, "mounting a tmpfs for a disk-full test")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("peertest: mount tmpfs on %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("peertest: umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}
