# hostagent: `make run` to see it work, `make test` to prove it.

GO      ?= go
BIN     := bin
RUN     := .run
DEMO    := 127.0.0.1:16162
DEMOLOG := 127.0.0.1:16514
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
# real logrotate rotating the files the forwarder reads.
TEST_PACKAGES := snmptrapd snmpd snmp libvirt-daemon libvirt-clients rsyslog rsyslog-gnutls rsyslog-relp logrotate python3-pysnmp4 nats-server

.PHONY: all build run test test-deps bench clean

all: build

# One vicfg program holds every vCLI command; each name it answers to is a
# link to it, and argv[0] picks the command.
build:
	$(GO) build -o $(BIN)/ ./cmd/hostagentd ./cmd/vicfg
	for name in vicfg-snmp vicfg-syslog vicfg-user vicfg-hostops vicfg-cfgbackup esxcfg-snmp esxcfg-syslog; do \
		ln -sfn vicfg $(BIN)/$$name || exit 1; \
	done

# The daemon on the bundled configuration, state in .run/, no root needed.
# Its built-in demo receiver logs every notification it gets, decoded; its
# demo collector logs every line the forwarder sends it (the files of
# .run/log, the local socket and the daemon's own log), decoded. With
# nats-server installed, a second loghost publishes the same lines to a
# JetStream stream, and --demo-stream logs each record the stream stores.
run: build
	rm -rf $(RUN) && mkdir -p $(RUN)/etc $(RUN)/state $(RUN)/log
	cp configs/*.toml $(RUN)/etc/
	@# The local syslog socket and the log directory go in .run too: /run
	@# and /var/log need root. One loghost: the demo collector (and the
	@# log bus, added below when nats-server is installed).
	sed -i -e 's|^socket = .*|socket = "$(CURDIR)/$(RUN)/syslog.sock"|' \
		-e 's|^loghosts = .*|loghosts = ["tcp://$(DEMOLOG)"]|' \
		-e 's|^glob = "/var/log/vmware/\*.log"|glob = "$(CURDIR)/$(RUN)/log/*.log"|' $(RUN)/etc/syslog.toml
	echo "hostagent demo: a line of $(RUN)/log/demo.log" > $(RUN)/log/demo.log
	@echo "hostagentd on configs/ (a copy in $(RUN)/etc); in another terminal try:"
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
		--demo-receiver $(DEMO) --demo-collector $(DEMOLOG) $$stream; \
	echo "$$@"; \
	"$$@" & agent=$$!; \
	wait $$agent; status=$$?; agent=; exit $$status

test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

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

# hostagentd against rsyslogd: the same 1M-line file forwarded over TCP
# (RFC 5424, octet counting) to one sink on loopback, and hostagentd over
# TLS; prints lines/s, CPU and max RSS of each and their ratios.
bench-syslog:
	$(GO) test -run '^$$' -bench ForwardVsRsyslog -benchtime 1x -timeout 30m -v ./syslogd/bench/
