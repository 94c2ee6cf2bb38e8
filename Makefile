# Euca: `make run` starts the all-in-one cloud, `make test` passes the tests.
# Both install what is missing first (Debian packages with apt, Python test clients with pip).

SWIFT   ?= swift
PYTHON  ?= python3
APT_PACKAGES = libvirt-dev liblmdb-dev pkg-config openssh-client openssl ca-certificates
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps pydeps build build-tests run test test-swift test-blackbox bench clean docs

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

pydeps:
	@$(PYTHON) -c "import boto3, botocore, pytest" 2>/dev/null && command -v aws >/dev/null || \
	  $(PYTHON) -m pip install -q -r tests/requirements.txt

build: deps
	$(SWIFT) build

build-tests: deps
	$(SWIFT) build --build-tests

run: build
	$(SWIFT) run --skip-build euca-cloud

test: deps pydeps build-tests test-swift test-blackbox

test-swift:
	$(SWIFT) test --skip-build

test-blackbox:
	$(PYTHON) -m pytest -q tests/blackbox

# Side-by-side benchmark with moto's server (needs a release build; see scripts/bench/).
bench: deps
	scripts/bench/ec2-vs-moto

docs: build
	.build/debug/euca-admin config-keys --markdown > docs/configuration-keys.md

clean:
	rm -rf .build
