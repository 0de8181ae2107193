package vms

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"hostagent/internal/configstore"
)

// Config is the [vms] section of collectors.toml.
type Config struct {
	Enabled      bool                 `toml:"enabled"`
	URI          string               `toml:"uri"`           // the libvirt driver to watch
	Socket       string               `toml:"socket"`        // libvirtd's read-write socket
	ConfigDir    string               `toml:"config_dir"`    // where the driver keeps <name>.xml: vmwVmConfigFilePath
	ReconnectMax configstore.Duration `toml:"reconnect_max"` // cap of the reconnection backoff
}

// DefaultConfig watches the system QEMU driver.
func DefaultConfig() Config {
	return Config{
		Enabled:      true,
		URI:          "qemu:///system",
		Socket:       "/var/run/libvirt/libvirt-sock",
		ConfigDir:    "/etc/libvirt/qemu",
		ReconnectMax: configstore.Duration(30 * time.Second),
	}
}

// Validate reports every bad setting, naming the key and the value.
func (c Config) Validate() error {
	var errs []error
	if scheme, rest, ok := strings.Cut(c.URI, "://"); !ok || scheme == "" || strings.ContainsAny(scheme, "+ ") || rest == "" && !strings.HasSuffix(c.URI, ":///") {
		errs = append(errs, fmt.Errorf("vms.uri %q: must be a libvirt driver URI such as qemu:///system (the socket is set by vms.socket)", c.URI))
	}
	if !filepath.IsAbs(c.Socket) {
		errs = append(errs, fmt.Errorf("vms.socket %q: must be an absolute path to libvirtd's socket", c.Socket))
	}
	if !filepath.IsAbs(c.ConfigDir) {
		errs = append(errs, fmt.Errorf("vms.config_dir %q: must be an absolute path", c.ConfigDir))
	}
	if d := time.Duration(c.ReconnectMax); d < 100*time.Millisecond || d > 10*time.Minute {
		errs = append(errs, fmt.Errorf("vms.reconnect_max %q: must be from 100ms to 10m", d))
	}
	return errors.Join(errs...)
}
