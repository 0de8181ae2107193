//go:build !unix

package tail

import "os"

// Without device and inode numbers a file cannot be followed through a
// rename; Follow reports errNoInode on such platforms.
func statKey(os.FileInfo) (inodeKey, bool) { return inodeKey{}, false }
