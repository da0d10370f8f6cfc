# Set-up and the two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT := out/demo
SAMPLE := src/sealshot/video/samples/arcade-walkers-1080p-crf29.mp4

.PHONY: demo console-demo test install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 resolves to the local CPU wheel; install it first so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[evaluate,test]'
	touch $(STAMP)

install: $(STAMP)

# Debian programs the tests drive for real: ffmpeg serves clips as live streams, chromium is the browser.
SYSTEM_PROGRAMS := ffmpeg chromium
system-deps:
	@missing=""; for p in $(SYSTEM_PROGRAMS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg chromium chromium-driver >/dev/null \
		|| echo "warning: could not install$$missing; the tests that need them will skip and say why"; \
	fi

demo: $(STAMP)
	rm -rf $(OUT) && mkdir -p $(OUT)
	$(VENV)/bin/sealshot keygen --out $(OUT)/keys
	$(VENV)/bin/sealshot run $(SAMPLE) --vault $(OUT)/vault --recipient $(OUT)/keys/authority.pub --camera arcade \
		--preview $(OUT)/preview.mp4 --report $(OUT)/report.json --timeline $(OUT)/timeline.png
	$(VENV)/bin/sealshot vault verify --vault $(OUT)/vault
	$(VENV)/bin/sealshot vault list --vault $(OUT)/vault
	@echo "demo outputs in $(OUT): vault/ (sealed), preview.mp4, report.json, timeline.png"

# The console walk-through (README, "The web console"): a 2-of-3 vault with the sample clip sealed in it,
# one demo account per role (password: demo-password-NAME), then the console on http://127.0.0.1:8080/.
CONSOLE_OUT := out/console-demo
CONSOLE_USERS := olga:operator hans:key-holder hilde:key-holder hugo:key-holder ines:investigator alma:auditor
console-demo: $(STAMP)
	rm -rf $(CONSOLE_OUT) && mkdir -p $(CONSOLE_OUT)
	$(VENV)/bin/sealshot keys init --holders 3 --threshold 2 --out $(CONSOLE_OUT)/keys --vault $(CONSOLE_OUT)/vault --retention-days 3650
	$(VENV)/bin/sealshot run $(SAMPLE) --vault $(CONSOLE_OUT)/vault --recipient $(CONSOLE_OUT)/keys/authority.pub --camera arcade \
		--start-time 2026-01-15T10:00:00Z --no-progress
	@for entry in $(CONSOLE_USERS); do name=$${entry%%:*}; role=$${entry##*:}; \
		echo "demo-password-$$name" > $(CONSOLE_OUT)/$$name.password; \
		$(VENV)/bin/sealshot console user add --vault $(CONSOLE_OUT)/vault --username $$name --role $$role --password-file $(CONSOLE_OUT)/$$name.password; \
	done
	@echo "shares for the key holders' browsers: $(CONSOLE_OUT)/keys/share-*-of-3.json"
	$(VENV)/bin/sealshot console --vault $(CONSOLE_OUT)/vault --bind 127.0.0.1:8080

test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

clean:
	rm -rf $(VENV) out .cache
