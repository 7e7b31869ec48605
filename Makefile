# Packager front end: build, static build, install, uninstall, regenerate the man pages.
# Developers: scripts/run and scripts/test (see README.md).
#
#   make                         release build (dynamic libelf and zlib)
#   make static                  binaries with nothing to install: libbpf, libelf, zlib, libc in
#   make install DESTDIR=/tmp/pkg PREFIX=/usr [APP_PREFIX=bpf-] [BUILD_DIR=...]
#   make uninstall               with the same variables as install
#   make man                     regenerate man/man8 from the tools' options and man/sections

# Every tool is a directory of tools/ (see docs/adding-a-tool.md): no list to keep.
TOOLS := $(sort $(patsubst tools/%/Cargo.toml,%,$(wildcard tools/*/Cargo.toml)))

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
# Installs e.g. bpf-opensnoop next to another package's opensnoop; man pages and completions
# follow the installed name.
APP_PREFIX ?=

CARGO ?= cargo
CARGO_FLAGS ?= --locked
# Where install takes the binaries from: `make static` output works too.
BUILD_DIR ?= target/release

HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
STATIC_DIR := target/static/$(HOST_TRIPLE)/release

.PHONY: all build static man install uninstall check

all: build

build:
	$(CARGO) build --release $(CARGO_FLAGS)

# libbpf-sys links the static libelf.a and libz.a from libelf-dev and zlib1g-dev when told
# where they are; crt-static links glibc in too. An explicit --target keeps crt-static away
# from build scripts and proc macros, which must stay dynamic.
static:
	LIBBPF_SYS_LIBRARY_PATH=/usr/lib/$(MULTIARCH) \
	RUSTFLAGS="$(RUSTFLAGS) -C target-feature=+crt-static" \
	$(CARGO) build --release $(CARGO_FLAGS) --features static \
		--target $(HOST_TRIPLE) --target-dir target/static
	@echo "static binaries: $(STATIC_DIR)/{$(shell echo $(TOOLS) | tr ' ' ,)}"

man:
	$(CARGO) build $(CARGO_FLAGS) $(addprefix -p ,$(TOOLS))
	mkdir -p man/man8
	for t in $(TOOLS); do target/debug/$$t --generate man > man/man8/$$t.8 || exit 1; done

install:
	@for t in $(TOOLS); do \
		[ -x "$(BUILD_DIR)/$$t" ] || { echo "$(BUILD_DIR)/$$t is missing: run 'make' (or 'make static' with BUILD_DIR=$(STATIC_DIR)) first" >&2; exit 1; }; \
	done
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(MANDIR)/man8" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	set -e; for t in $(TOOLS); do \
		n=$(APP_PREFIX)$$t; \
		install -m 755 "$(BUILD_DIR)/$$t" "$(DESTDIR)$(SBINDIR)/$$n"; \
		install -m 644 "man/man8/$$t.8" "$(DESTDIR)$(MANDIR)/man8/$$n.8"; \
		"$(BUILD_DIR)/$$t" --generate bash $$n > "$(DESTDIR)$(BASHCOMPDIR)/$$n"; \
		"$(BUILD_DIR)/$$t" --generate zsh $$n > "$(DESTDIR)$(ZSHCOMPDIR)/_$$n"; \
		"$(BUILD_DIR)/$$t" --generate fish $$n > "$(DESTDIR)$(FISHCOMPDIR)/$$n.fish"; \
		chmod 644 "$(DESTDIR)$(BASHCOMPDIR)/$$n" "$(DESTDIR)$(ZSHCOMPDIR)/_$$n" \
			"$(DESTDIR)$(FISHCOMPDIR)/$$n.fish"; \
	done

uninstall:
	for t in $(TOOLS); do \
		n=$(APP_PREFIX)$$t; \
		rm -f "$(DESTDIR)$(SBINDIR)/$$n" "$(DESTDIR)$(MANDIR)/man8/$$n.8" \
			"$(DESTDIR)$(BASHCOMPDIR)/$$n" "$(DESTDIR)$(ZSHCOMPDIR)/_$$n" \
			"$(DESTDIR)$(FISHCOMPDIR)/$$n.fish"; \
	done

check:
	scripts/test
