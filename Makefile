# hostagent: `make run` to see it work, `make test` to prove it.

GO      ?= go
BIN     := bin
RUN     := .run
DEMO    := 127.0.0.1:16162
DEMOLOG := 127.0.0.1:16514
# make run's web console (and the API over HTTPS), on loopback only.
HTTPSHOST := 127.0.0.1
HTTPSPORT := 16443
DEMOHTTPS := $(HTTPSHOST):$(HTTPSPORT)
# make run's log bus, when Debian's nats-server is installed: the server
# (a name looked for in PATH and /usr/sbin, or a path), where it listens
# with JetStream, and the subject its nats:// loghost publishes to.
NATS_SERVER := nats-server
NATSHOST := 127.0.0.1
NATSPORT := 14222
DEMONATS := $(NATSHOST):$(NATSPORT)
DEMOSUBJ := hostagent.demo

# Debian packages the integration tests start as real peers: net-snmp's
# snmptrapd, libvirtd (with virsh) serving its test driver, rsyslogd (with
# its TLS driver and RELP input) as the remote syslog collector, and the
# real logrotate rotating the files the forwarder reads. The package's own
# judges: lintian, man (man-db, groff) and systemd-analyze (systemd). The
# web console's browser tests drive chromium, and fetch axe-core with the
# machine's npm (Node.js's own, which Debian's npm package would conflict
# with where Node.js came from elsewhere: not installed here).
TEST_PACKAGES := snmptrapd snmpd snmp libvirt-daemon libvirt-clients rsyslog rsyslog-gnutls rsyslog-relp logrotate python3-pysnmp4 nats-server \
	lintian man-db groff-base systemd chromium

.PHONY: all build man vendor-js run test test-deps bench clean install deb

# make install: programs, unit, man pages and completion under PREFIX
# (/usr/local; the package uses /usr), each path below DESTDIR. The
# configuration and state stay in /etc/hostagent and /var/lib/hostagent
# whatever PREFIX is: they are hostagentd's defaults and the unit's
# ConfigurationDirectory= and StateDirectory=.
PREFIX        ?= /usr/local
DESTDIR       ?=
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
UNITDIR       ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
CONFDIR       := /etc/hostagent
STATEDIR      := /var/lib/hostagent
# The names the vicfg program answers to, each a link to it.
VICFG_LINKS   := vicfg-snmp vicfg-syslog vicfg-user vicfg-hostops vicfg-cfgbackup esxcfg-snmp esxcfg-syslog

# make deb: the Debian package, in $(BIN)/, from a make install in
# $(DEBROOT). Its version is the commit's time (UTC, to the second) and
# hash: two builds of one commit are the same version, and a later commit
# sorts after an earlier one.
DEBROOT     = $(abspath $(BIN)/deb/root)
DEB_VERSION ?= $(shell v=$$(TZ=UTC git log -1 --format=%cd.%h --date=format-local:%Y%m%d%H%M%S 2>/dev/null); echo "0.0.0~git$${v:-unknown}-1")
DEB_ARCH    ?= $(shell $(GO) env GOARCH)

all: build

# One vicfg program holds every vCLI command; each name it answers to is a
# link to it, and argv[0] picks the command.
# Static (CGO_ENABLED=0): the programs need no C library, so the package
# depends on none. Position-independent, for address space randomization
# as Debian builds its programs; stripped of the symbol table and DWARF
# (a panic's trace keeps its function names and lines).
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -trimpath -buildmode=pie -ldflags='-s -w' -o $(BIN)/ ./cmd/hostagentd ./cmd/vicfg
	for name in $(VICFG_LINKS); do \
		ln -sfn vicfg $(BIN)/$$name || exit 1; \
	done

# The manual pages and the bash completion, for make install. The
# programs' pages come from the programs themselves (hidden --help-man),
# drawn from the flags they parse; esxcfg-snmp(1) and esxcfg-syslog(1) are
# .so links to the vicfg pages. The configuration files' pages are written
# by hand in docs/man and converted by go-md2man (tools.mod); sed then turns
# off hyphenation (HY 0 as well: .EE turns it back on to HY), justification,
# and line breaks after a hyphen (.cflags), which go-md2man leaves on, so that
# keys, paths, values and options stay whole (internal/daemon's
# TestConfigManPagesFormat does the same). Each file is written whole or not
# at all (a .tmp renamed).
MAN := $(BIN)/man
man: build
	mkdir -p $(MAN)/man1 $(MAN)/man5 $(MAN)/man8 $(BIN)/completion
	$(BIN)/hostagentd --help-man > $(MAN)/man8/hostagentd.8.tmp && mv $(MAN)/man8/hostagentd.8.tmp $(MAN)/man8/hostagentd.8
	for cmd in vicfg $(filter vicfg-%,$(VICFG_LINKS)); do \
		$(BIN)/$$cmd --help-man > $(MAN)/man1/$$cmd.1.tmp && mv $(MAN)/man1/$$cmd.1.tmp $(MAN)/man1/$$cmd.1 || exit 1; \
	done
	echo '.so man1/vicfg-snmp.1' > $(MAN)/man1/esxcfg-snmp.1
	echo '.so man1/vicfg-syslog.1' > $(MAN)/man1/esxcfg-syslog.1
	for src in docs/man/*.5.md; do \
		page=$(MAN)/man5/$$(basename $$src .md); \
		$(GO) tool -modfile=tools.mod go-md2man -in $$src -out $$page.tmp && \
		sed -i '/^\.TH /a .nr HY 0\n.nh\n.ad l\n.cflags 0 -' $$page.tmp && mv $$page.tmp $$page || exit 1; \
	done
	$(BIN)/vicfg --completion bash > $(BIN)/completion/vicfg.tmp && mv $(BIN)/completion/vicfg.tmp $(BIN)/completion/vicfg

# The web console's vendored JavaScript library (uPlot, the charts), as
# manage/console/package-lock.json pins it: npm ci in a temporary copy, so
# that no node_modules is left in the tree, then its three files copied
# into the embedded assets. The copies are committed: make build needs
# neither npm nor the network. Run it after changing the pin.
CONSOLE := manage/console
vendor-js:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp $(CONSOLE)/package.json $(CONSOLE)/package-lock.json "$$tmp"/ && \
	(cd "$$tmp" && npm ci --ignore-scripts --no-audit --no-fund) && \
	cp "$$tmp"/node_modules/uplot/dist/uPlot.iife.min.js "$$tmp"/node_modules/uplot/dist/uPlot.min.css $(CONSOLE)/assets/vendor/ && \
	cp "$$tmp"/node_modules/uplot/LICENSE $(CONSOLE)/assets/vendor/LICENSE-uPlot

# The daemon on the bundled configuration, state in .run/, no root needed.
# Its built-in demo receiver logs every notification it gets, decoded; its
# demo collector logs every line the forwarder sends it (the files of
# .run/log, the local socket and the daemon's own log), decoded. With
# nats-server installed, a second loghost publishes the same lines to a
# JetStream stream, and --demo-stream logs each record the stream stores.
# The web console is on https://$(DEMOHTTPS)/ui/ (a self-signed certificate
# generated in .run/state), with a user "demo" of role Administrator whose
# random password is printed once and kept in .run/demo.password (0600).
run: build
	rm -rf $(RUN) && mkdir -p $(RUN)/etc $(RUN)/state $(RUN)/log
	cp configs/*.toml $(RUN)/etc/ && cp configs/demo/*.toml $(RUN)/etc/
	@# The local syslog socket and the log directory go in .run too: /run
	@# and /var/log need root. One loghost: the demo collector (and the
	@# log bus, added below when nats-server is installed).
	sed -i -e 's|^socket = .*|socket = "$(CURDIR)/$(RUN)/syslog.sock"|' \
		-e 's|^loghosts = .*|loghosts = ["tcp://$(DEMOLOG)"]|' \
		-e 's|^glob = "/var/log/vmware/\*.log"|glob = "$(CURDIR)/$(RUN)/log/*.log"|' $(RUN)/etc/syslog.toml
	echo "hostagent demo: a line of $(RUN)/log/demo.log" > $(RUN)/log/demo.log
	@echo "hostagentd on configs/ with configs/demo/ over it (a copy in $(RUN)/etc); in another terminal try:"
	@echo "  $(BIN)/vicfg-snmp --server unix:$(RUN)/api.sock --test --show"
	@echo "  $(BIN)/vicfg-syslog --server unix:$(RUN)/api.sock --show"
	@echo "  echo 'a new line' >> $(RUN)/log/demo.log"
	@echo "  logger -u $(RUN)/syslog.sock 'through the local socket'"
	@echo "  snmpwalk -v2c -c public 127.0.0.1:16161 1.3.6.1.4.1.6876   (polls, when snmpd is installed: the VMware MIBs)"
	@echo "  snmpget -v2c -c public 127.0.0.1:16161 1.3.6.1.2.1.1.4.0 1.3.6.1.2.1.1.1.0   (sysContact, sysDescr)"
	@echo
	@# From here one shell, whose trap stops nats-server and hostagentd
	@# together: on Ctrl-C, when make is stopped, or when the daemon
	@# exits. Both run in the background so that the shell, waiting,
	@# takes the signal at once. nats-server is looked for in /usr/sbin
	@# too, where Debian puts it, outside a user's PATH. The daemon is
	@# stopped first, so that its last lines reach the stream; signals
	@# are ignored meanwhile (make and the terminal may send a second),
	@# so that the shell waits for both to have stopped.
	@agent=; natspid=; stream=; \
	trap 'trap "" INT TERM; for p in $$agent $$natspid; do kill $$p 2>/dev/null; wait $$p; done' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	if nats=$$(command -v $(NATS_SERVER) || command -v /usr/sbin/$(NATS_SERVER)); then \
		sed -i 's|^loghosts = \[\(.*\)\]|loghosts = [\1, "nats://$(DEMONATS)/$(DEMOSUBJ)"]|' $(RUN)/etc/syslog.toml; \
		"$$nats" -a $(NATSHOST) -p $(NATSPORT) -js -sd $(CURDIR)/$(RUN)/nats \
			>$(RUN)/nats-server.log 2>&1 & natspid=$$!; \
		stream="--demo-stream nats://$(DEMONATS)/$(DEMOSUBJ)"; \
		echo "log bus: $$nats (JetStream) on $(DEMONATS), its store in $(RUN)/nats, its log in $(RUN)/nats-server.log;"; \
		echo "  loghost nats://$(DEMONATS)/$(DEMOSUBJ) added, and --demo-stream logs each record its stream stores"; \
	else \
		echo "nats-server not installed: the log bus demo (nats:// loghost) is off; apt-get install nats-server"; \
	fi; \
	set -- $(BIN)/hostagentd --config-dir $(RUN)/etc --state-dir $(RUN)/state \
		--api-socket $(RUN)/api.sock --log-root $(CURDIR)/$(RUN)/log \
		--https-listen $(DEMOHTTPS) \
		--demo-receiver $(DEMO) --demo-collector $(DEMOLOG) $$stream; \
	echo "$$@"; \
	"$$@" & agent=$$!; \
	until $(BIN)/vicfg-hostops --server unix:$(RUN)/api.sock --show >/dev/null 2>&1; do \
		kill -0 $$agent 2>/dev/null || break; sleep 0.2; \
	done; \
	if kill -0 $$agent 2>/dev/null; then \
		pw=$$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-16); \
		(umask 077 && printf '%s\n' "$$pw" > $(RUN)/demo.password) && \
		$(BIN)/vicfg-user --server unix:$(RUN)/api.sock -o add -n demo -r Administrator \
			--newpassword-file $(RUN)/demo.password >/dev/null && \
		fp=$$($(BIN)/vicfg-hostops --server unix:$(RUN)/api.sock --show | sed -n 's/^Certificate SHA-256 fingerprint : //p') && \
		echo && echo "web console: https://$(DEMOHTTPS)/ui/  (user demo, password $$pw, also in $(RUN)/demo.password)" && \
		echo "  its self-signed certificate's SHA-256 fingerprint: $$fp" && \
		echo "  $(BIN)/vicfg-snmp --server $(HTTPSHOST) --portnumber $(HTTPSPORT) --username demo --password-file $(RUN)/demo.password --thumbprint $$fp --show" && echo; \
	fi; \
	wait $$agent; status=$$?; agent=; exit $$status

test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# Installs the peers the tests need when they are missing.
test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing test peers:$$missing"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	@# libvirtd's QEMU driver refuses to start without its system user.
	@getent passwd libvirt-qemu >/dev/null || { \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo useradd --system --user-group --no-create-home --shell /usr/sbin/nologin libvirt-qemu; }

bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1,2 -benchtime 2s -count 3 ./snmpagent/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 500x -count 3 ./collectors/...

clean:
	rm -rf $(BIN) $(RUN)

# An admin's configuration is never overwritten: a file already in
# $(CONFDIR) is kept, and the new default is named.
install: build man
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" \
		"$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(COMPLETIONDIR)"
	install -d -m 0750 "$(DESTDIR)$(CONFDIR)" "$(DESTDIR)$(STATEDIR)"
	install -m 0755 $(BIN)/hostagentd "$(DESTDIR)$(SBINDIR)/hostagentd"
	install -m 0755 $(BIN)/vicfg "$(DESTDIR)$(BINDIR)/vicfg"
	for name in $(VICFG_LINKS); do ln -sfn vicfg "$(DESTDIR)$(BINDIR)/$$name" || exit 1; done
	for f in configs/*.toml; do \
		to="$(DESTDIR)$(CONFDIR)/$${f##*/}"; \
		if [ -e "$$to" ]; then echo "kept $$to; the new default is $$f"; \
		else install -m 0640 "$$f" "$$to" || exit 1; fi; \
	done
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/hostagent.service.in > $(BIN)/hostagent.service
	install -m 0644 $(BIN)/hostagent.service "$(DESTDIR)$(UNITDIR)/hostagent.service"
	install -m 0644 $(BIN)/man/man1/*.1 "$(DESTDIR)$(MANDIR)/man1/"
	install -m 0644 $(BIN)/man/man5/*.5 "$(DESTDIR)$(MANDIR)/man5/"
	install -m 0644 $(BIN)/man/man8/*.8 "$(DESTDIR)$(MANDIR)/man8/"
	install -m 0644 $(BIN)/completion/vicfg "$(DESTDIR)$(COMPLETIONDIR)/vicfg"
	for name in $(VICFG_LINKS); do ln -sfn vicfg "$(DESTDIR)$(COMPLETIONDIR)/$$name" || exit 1; done

# nfpm (pinned in tools.mod) packs the tree as packaging/nfpm.yaml says;
# Debian wants the man pages and the changelog compressed, without a
# timestamp (-n), and the copyright beside them; lintian-overrides says
# why each remaining tag is right for this package.
deb:
	rm -rf $(BIN)/deb && mkdir -p $(BIN)/deb
	$(MAKE) install DESTDIR=$(DEBROOT) PREFIX=/usr UNITDIR=/lib/systemd/system
	gzip -9nf $(DEBROOT)/usr/share/man/man*/*
	install -d $(DEBROOT)/usr/share/doc/hostagent
	install -m 0644 packaging/deb/copyright $(DEBROOT)/usr/share/doc/hostagent/copyright
	install -d $(DEBROOT)/usr/share/lintian/overrides
	install -m 0644 packaging/deb/lintian-overrides $(DEBROOT)/usr/share/lintian/overrides/hostagent
	printf 'hostagent (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- hostagent developers <hostagent@example.org>  %s\n' \
		"$(DEB_VERSION)" "$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
		"$$(git log -1 --format=%cD 2>/dev/null || date -R)" | gzip -9n > $(DEBROOT)/usr/share/doc/hostagent/changelog.Debian.gz
	DEB_ROOT=$(DEBROOT) DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) \
		$(GO) tool -modfile=tools.mod nfpm package -f packaging/nfpm.yaml -p deb -t $(BIN)/deb/

# hostagentd against rsyslogd: the same 1M-line file forwarded over TCP
# (RFC 5424, octet counting) to one sink on loopback, and hostagentd over
# TLS; prints lines/s, CPU and max RSS of each and their ratios.
bench-syslog:
	$(GO) test -run '^$$' -bench ForwardVsRsyslog -benchtime 1x -timeout 30m -v ./syslogd/bench/
