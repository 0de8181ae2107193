// Package packaging holds no code of the programs: it is the place of
// what installs them (the systemd unit hostagent.service.in, the Debian
// package's definition nfpm.yaml and its maintainer scripts in deb/), and
// its tests build what `make install` and `make deb` produce and judge it
// with the tools an admin's machine judges it by: dpkg, lintian, man and
// systemd-analyze.
package packaging
