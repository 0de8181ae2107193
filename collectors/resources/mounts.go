package resources

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mount is one line of /proc/mounts.
type mount struct {
	device, point, fsType string
}

// readMounts parses a mounts file (fstab format, as /proc/mounts and
// /proc/self/mounts are), keeping the file's order.
func readMounts(path string) ([]mount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	var mounts []mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("mount table %s line %d %q: want device, mount point and type", path, line, sc.Text())
		}
		mounts = append(mounts, mount{device: unescapeMount(f[0]), point: unescapeMount(f[1]), fsType: f[2]})
	}
	return mounts, sc.Err()
}

// unescapeMount undoes the kernel's octal escapes of space, tab, newline and
// backslash (\040, \011, \012, \134) in mount table fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// virtualFilesystems are the types a rule without a mount skips: kernel
// interfaces, memory-backed file systems (the memory rule covers RAM),
// container layers that repeat the usage of the file system under them, and
// read-only images that are always 100% full by construction. Remote file
// systems (nfs, nfs4, cifs, ceph, glusterfs) are kept: VM disks often live
// there. Unlisted pseudo file systems report zero blocks and are skipped by
// that test instead.
var virtualFilesystems = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true, "cgroup2": true,
	"configfs": true, "debugfs": true, "devpts": true, "devtmpfs": true, "efivarfs": true,
	"fusectl": true, "hugetlbfs": true, "mqueue": true, "nsfs": true, "overlay": true,
	"proc": true, "pstore": true, "ramfs": true, "rpc_pipefs": true, "securityfs": true,
	"selinuxfs": true, "sysfs": true, "tmpfs": true, "tracefs": true, "nfsd": true,
	"squashfs": true, "iso9660": true, "udf": true, "erofs": true,
	"fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
}

// realFilesystem reports whether a rule without a mount watches m.
func realFilesystem(m mount) bool { return !virtualFilesystems[m.fsType] }
