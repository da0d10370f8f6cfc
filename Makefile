# Set-up and the two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT := out/demo
SAMPLE := src/sealshot/video/samples/arcade-walkers-1080p-crf29.mp4

.PHONY: demo console test install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 resolves to the local CPU wheel; install it first so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[evaluate,scale,test]'
	touch $(STAMP)

install: $(STAMP)

# Debian programs the tests drive for real: ffmpeg serves clips as live streams, chromium is the browser,
# PostgreSQL (initdb/pg_ctl, a throw-away cluster per test session) holds a remote vault's index.
SYSTEM_PROGRAMS := ffmpeg chromium
system-deps:
	@missing=""; for p in $(SYSTEM_PROGRAMS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg chromium chromium-driver postgresql >/dev/null \
		|| echo "warning: could not install$$missing; the tests that need them will skip and say why"; \
	fi

# The main job on the bundled sample: a 2-of-3 split authority key and a vault, the clip sealed into it
# (as if recorded at a fixed time, so the console walk-through's warrant window is reproducible), the
# vault verified and listed, and one demo account per role for the web console (`make console`).
DEMO_START := 2026-01-15T10:00:00Z
DEMO_USERS := olga:operator hans:key-holder hilde:key-holder hugo:key-holder ines:investigator alma:auditor
demo: $(STAMP)
	rm -rf $(OUT) && mkdir -p $(OUT)
	$(VENV)/bin/sealshot keys init --holders 3 --threshold 2 --out $(OUT)/keys --vault $(OUT)/vault --retention-days 3650
	$(VENV)/bin/sealshot run $(SAMPLE) --vault $(OUT)/vault --recipient $(OUT)/keys/authority.pub --camera arcade \
		--start-time $(DEMO_START) --preview $(OUT)/preview.mp4 --report $(OUT)/report.json --timeline $(OUT)/timeline.png
	$(VENV)/bin/sealshot vault verify --vault $(OUT)/vault
	$(VENV)/bin/sealshot vault list --vault $(OUT)/vault
	@for entry in $(DEMO_USERS); do name=$${entry%%:*}; role=$${entry##*:}; \
		echo "demo-password-$$name" > $(OUT)/$$name.password; \
		$(VENV)/bin/sealshot console user add --vault $(OUT)/vault --username $$name --role $$role --password-file $(OUT)/$$name.password; \
	done
	@echo "demo outputs in $(OUT): vault/ (sealed), keys/ (authority.pub and the 3 shares), preview.mp4, report.json, timeline.png"
	@echo "next: 'make console' serves the web console on http://127.0.0.1:8080/ (accounts olga, hans, hilde, hugo, ines, alma; password demo-password-NAME)"

# The web console over the demo vault (README, "The web console"); run `make demo` first.
console: $(STAMP)
	@test -d $(OUT)/vault || { echo "no demo vault in $(OUT): run 'make demo' first"; exit 2; }
	@echo "shares for the key holders' browsers: $(OUT)/keys/share-*-of-3.json"
	$(VENV)/bin/sealshot console --vault $(OUT)/vault --bind 127.0.0.1:8080

test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

clean:
	rm -rf $(VENV) out .cache
